//! `evaluate`: being written.

fn main() {}
