//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("cannot read or write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of an input file is malformed (not UTF-8, wrong number of columns, ...).
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The two sides of a line-aligned bitext have different lengths.
    #[error(
        "misaligned bitext: {short} ends after {lines} lines while {long} continues at line {}",
        lines + 1
    )]
    Misaligned {
        /// The file that ended first.
        short: PathBuf,
        /// The file that has more lines.
        long: PathBuf,
        /// Number of lines read from both files.
        lines: u64,
    },
    /// A Hugging Face `tokenizer.json` could not be loaded or could not encode a text.
    #[error("tokenizer {what}")]
    Tokenizer {
        /// What was being done (path or text prefix).
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A statistics file was written with another tokenizer than the one offered.
    #[error("statistics were built with tokenizer {stored}, not {offered}")]
    TokenizerMismatch {
        /// Identity recorded in the file.
        stored: String,
        /// Identity of the tokenizer offered.
        offered: String,
    },
    /// A statistics file is not in this crate's format or has an unsupported version.
    #[error("{path}: not a cooc statistics file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A parameter is out of its domain.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The measure needs data the statistics do not hold (e.g. IBM Model 1 not trained).
    #[error("measure {measure} is not available: {reason}")]
    MeasureUnavailable {
        /// The measure.
        measure: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Shapes of a batch do not agree.
    #[error("shape mismatch: {reason}")]
    Shape {
        /// What disagrees.
        reason: String,
    },
    /// The optimal-transport solver refused its input.
    #[error("optimal transport")]
    Ot(#[from] ot_core::Error),
    /// A libtorch call failed.
    #[cfg(feature = "tch")]
    #[error("libtorch")]
    Tch(#[from] tch::TchError),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
