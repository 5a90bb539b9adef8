//! `distil`: being written.

fn main() {}
