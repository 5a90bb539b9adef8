//! The error type of this crate.

use std::path::PathBuf;

/// Where a record came from: a file (with its path) or an in-memory builder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// Records pushed into a builder; lines count pushes from 1.
    #[default]
    Memory,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Memory => f.write_str("<memory>"),
        }
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot read or write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of a qrels or run file is malformed.
    #[error("{source_name}:{line}: field `{field}`: {reason}")]
    Parse {
        /// The file (or `<memory>`).
        source_name: Source,
        /// 1-based line number.
        line: u64,
        /// The offending field (`qid`, `docno`, `score`, `rel`, `columns`, ...).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The same (qid, docno) pair appears twice.
    #[error("{source_name}:{line}: duplicate document {docno:?} for query {qid:?}")]
    Duplicate {
        /// The file (or `<memory>`).
        source_name: Source,
        /// 1-based line number of the second occurrence.
        line: u64,
        /// Query id.
        qid: String,
        /// Document id.
        docno: String,
    },
    /// A measure name that this crate does not know.
    #[error("unknown measure {0:?}")]
    UnknownMeasure(String),
    /// A bad command-line or parameter value.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// The argument.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Paired data of different lengths or too few pairs.
    #[error("paired samples: {reason} (lengths {a} and {b})")]
    Paired {
        /// Length of the first sample.
        a: usize,
        /// Length of the second sample.
        b: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// No query has both a ranking and judgements.
    #[error("no queries with both results and relevance info")]
    NoQueries,
    /// JSON serialisation failed.
    #[error("json")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// The error with its line number moved down by `lines` (for text parsed in parts, whose
    /// errors count lines from the start of their part).
    pub(crate) fn after_lines(mut self, lines: u64) -> Self {
        if let Error::Parse { line, .. } | Error::Duplicate { line, .. } = &mut self {
            *line += lines;
        }
        self
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
