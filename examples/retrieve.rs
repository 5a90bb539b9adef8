//! `retrieve`: being written.

fn main() {}
