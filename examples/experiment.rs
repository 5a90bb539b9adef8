//! `experiment`: being written.

fn main() {}
