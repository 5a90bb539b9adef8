//! Evaluation collections read from their original files under a data root.
//!
//! Every reader type-checks the fields it uses. Rows that are unusable by the data's own known
//! quirks (a JSON `null` or `NaN` where a question or passage should be, an empty passage) are
//! *reported* as [`SkippedRow`]s and left out — never turned into text. Anything else malformed
//! is an [`Error`](crate::Error) naming file, line and field.
//!
//! | collection | queries | documents | judgments |
//! |---|---|---|---|
//! | [`afriqa`] AfriQA-R | native questions (`question_lang`) | unique English gold passages of every file | the row's own passage |
//! | [`xquad`] XQuAD-R | questions in language X | the 1,180 English sentences (or 240 paragraphs) | sentence containing the answer start |
//! | [`flores`] FLORES-200 devtest | line *i* in language X | the English lines | line *i* |
//!
//! [`bitext`] assembles the training bitext of a language, with a [`bitext::LeakGuard`] that
//! keeps every evaluation text out of it.

pub mod afriqa;
pub mod bitext;
pub mod flores;
mod json;
mod lines;
mod spec;
pub mod xquad;

pub use spec::CollectionSpec;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The default data root, relative to the repository root: `../shared/data`.
pub const DEFAULT_DATA_ROOT: &str = "../shared/data";

/// A query: identifier and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Unique within its collection, e.g. `hau-test-12`.
    pub id: String,
    /// The query text as it is.
    pub text: String,
}

/// A document: identifier and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Unique within its collection and stable across readings of the same files.
    pub id: String,
    /// The document text.
    pub text: String,
}

/// One relevance judgment, as a line of a TREC qrels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgment {
    /// The query.
    pub query_id: String,
    /// The document.
    pub doc_id: String,
    /// The relevance label (here always 1: one judged passage per query).
    pub relevance: i32,
}

/// A row of a source file that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why it was left out.
    pub reason: String,
}

impl std::fmt::Display for SkippedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: skipped: {}",
            self.path.display(),
            self.line,
            self.reason
        )
    }
}

/// An evaluation collection: queries, documents, judgments, and what was left out.
#[derive(Debug, Clone, Default)]
pub struct EvalCollection {
    /// A name such as `afriqa-r/hau/test` (used in file names and cache keys).
    pub name: String,
    /// The queries in the language under test.
    pub queries: Vec<Topic>,
    /// Human English translations of the same queries (same ids), where the source has them:
    /// the upper bound of an English teacher.
    pub english_queries: Vec<Topic>,
    /// The documents to rank.
    pub documents: Vec<Document>,
    /// The judgments.
    pub qrels: Vec<Judgment>,
    /// Rows left out of `queries`, with the reason.
    pub skipped: Vec<SkippedRow>,
}

impl EvalCollection {
    /// Writes the judgments as a TREC qrels file (`qid 0 docno rel`), atomically.
    pub fn write_qrels(&self, path: &Path) -> Result<()> {
        write_atomically(path, |w| {
            for j in &self.qrels {
                writeln!(w, "{} 0 {} {}", j.query_id, j.doc_id, j.relevance)?;
            }
            Ok(())
        })
    }

    /// Writes queries as `id<TAB>text` lines, atomically.
    pub fn write_topics(topics: &[Topic], path: &Path) -> Result<()> {
        write_atomically(path, |w| {
            for t in topics {
                writeln!(w, "{}\t{}", t.id, t.text)?;
            }
            Ok(())
        })
    }
}

/// Writes a file through a temporary sibling and a rename, so a reader never sees half a file.
pub(crate) fn write_atomically(
    path: &Path,
    body: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut w = std::io::BufWriter::new(file);
    body(&mut w).and_then(|()| w.flush()).map_err(io)?;
    w.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// A stable document id from its text: `prefix` + the first 16 hex digits of its SHA-256.
pub(crate) fn content_id(prefix: &str, text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qrels_and_topics_are_written_atomically_as_trec_text() {
        let dir = std::env::temp_dir().join(format!("optical-data-{}", std::process::id()));
        let c = EvalCollection {
            qrels: vec![Judgment {
                query_id: "q1".into(),
                doc_id: "d9".into(),
                relevance: 1,
            }],
            queries: vec![Topic {
                id: "q1".into(),
                text: "Ìbéèrè kan".into(),
            }],
            ..EvalCollection::default()
        };
        let (qrels, topics) = (dir.join("sub/x.qrels"), dir.join("x.tsv"));
        c.write_qrels(&qrels).unwrap();
        EvalCollection::write_topics(&c.queries, &topics).unwrap();
        assert_eq!(std::fs::read_to_string(&qrels).unwrap(), "q1 0 d9 1\n");
        assert_eq!(
            std::fs::read_to_string(&topics).unwrap(),
            "q1\tÌbéèrè kan\n"
        );
        let left: Vec<_> = std::fs::read_dir(dir.join("sub"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
