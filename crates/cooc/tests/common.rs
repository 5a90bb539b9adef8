//! Paths shared by the integration tests (included with `mod common;`).
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// `../shared/data` beside the repository, if present.
pub fn data_root() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found", p.display());
        None
    }
}

/// The MiniLM WordPiece tokenizer.json of the workspace, if set up.
pub fn minilm_tokenizer() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/all-MiniLM-L6-v2/tokenizer.json");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found", p.display());
        None
    }
}
