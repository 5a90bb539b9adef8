//! Experiment grids: methods × collections × seeds, run records, tables and plots.
//!
//! An experiment is a TOML file ([`ExperimentConfig`]):
//!
//! ```toml
//! name = "main"
//! seeds = [0, 1, 2]
//! collections = ["afriqa:hau", "afriqa:yor", "xquad:de"]
//! budget = 2000                       # bitext pairs per language, for every bitext-using row
//! [distil]                            # shared DistilConfig settings
//! train = { epochs = 1 }
//! [[method]]
//! name = "zero-shot"                  # the teacher encodes the native query
//! kind = "dense"
//! [[method]]
//! name = "bm25"
//! kind = "bm25"
//! [[method]]
//! name = "optical"
//! kind = "distil"
//! role = "system"
//! distil = { method = "optical" }
//! [[method]]
//! name = "rrf-bm25-optical"
//! kind = "rrf"
//! of = ["bm25", "optical"]
//! [[method]]
//! name = "upper-bound"                # the teacher on the human English translation
//! kind = "english"
//! role = "reference"
//! ```
//!
//! [`Experiment::run`] fills every cell that has no current record: a cell is one (collection,
//! method, seed) — one seed only for methods that do not depend on it. Each cell writes a TREC
//! run under `runs/<name>/` and a [`RunRecord`] (per-query headline measures, fingerprint, git
//! commit, host, wall time, training report) under `results/<name>/`. Records are small and meant
//! to be committed: a grid too large for one sitting is resumed from them, on this machine or
//! another, and a record whose fingerprint no longer matches its cell's configuration is redone.
//! Students are trained once per (language, method, seed) and serve every collection in that
//! language — or, in a grid with a `[mix]` ([`MixGrid`]), once per (row, share, budget, seed) on
//! the language mix, serving every collection; the teacher's document embeddings are cached per
//! corpus.
//!
//! [`Experiment::report`] turns the current records into Markdown ([`report::markdown`]) and
//! plots ([`plot`]); [`write_section`] puts the Markdown between `<!-- BEGIN name -->` and
//! `<!-- END name -->` in `docs/results.md`.

mod config;
pub mod plot;
mod record;
pub mod report;
mod runner;
pub mod scaling;
mod set;

use std::path::Path;

pub use config::{
    ExperimentConfig, GapGroups, MethodKind, MethodRole, MethodSpec, MixGrid, MixPoint, NoiseGrid,
};
pub use record::{
    ALIGNMENT_RECALL, HEADLINE, Headline, RunRecord, git_commit, per_query_headline,
    per_query_measures, record_path, unix_now,
};
pub use runner::{Experiment, ExperimentOptions, MIX_LANG, Summary};
pub use set::EvalSet;

use crate::data::write_atomically;
use crate::{Error, Result};

/// Replaces the text between `<!-- BEGIN section -->` and `<!-- END section -->` in `path` with
/// `body` (appending a new marked section at the end when the markers are absent), atomically.
pub fn write_section(path: &Path, section: &str, body: &str) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(Error::Io {
                path: path.into(),
                source,
            });
        }
    };
    let begin = format!("<!-- BEGIN {section} -->");
    let end = format!("<!-- END {section} -->");
    let body = body.trim_end();
    let new = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{body}\n{}", &text[..b], &text[e..]),
        (None, None) => {
            let sep = if text.is_empty() || text.ends_with("\n\n") {
                ""
            } else if text.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{text}{sep}{begin}\n{body}\n{end}\n")
        }
        _ => {
            return Err(Error::Config {
                field: format!("{} markers", path.display()),
                reason: format!("`{begin}` and `{end}` must both appear, in that order"),
            });
        }
    };
    write_atomically(path, |w| {
        use std::io::Write;
        w.write_all(new.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_or_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.md");
        std::fs::write(
            &path,
            "# R\n\n<!-- BEGIN a -->\nold\n<!-- END a -->\ntail\n",
        )
        .unwrap();
        write_section(&path, "a", "new\n").unwrap();
        write_section(&path, "b", "bee").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# R\n\n<!-- BEGIN a -->\nnew\n<!-- END a -->\ntail\n\n<!-- BEGIN b -->\nbee\n<!-- END b -->\n"
        );
        std::fs::write(&path, "<!-- END c -->\n<!-- BEGIN c -->\n").unwrap();
        assert!(write_section(&path, "c", "x").is_err());
    }
}
