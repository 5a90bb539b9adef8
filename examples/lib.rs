//! Shared command-line plumbing of the example programs.
