//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file a data set needs is absent.
    #[error("missing data file {path}: {hint}")]
    MissingData {
        /// The file that was looked for.
        path: PathBuf,
        /// What to do about it.
        hint: String,
    },
    /// A line is not valid JSON.
    #[error("{path}:{line}: invalid JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A field is absent or has the wrong type or value.
    #[error("{path}:{line}: field `{field}`: {reason}")]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line number (1 for a whole-file JSON document).
        line: usize,
        /// The JSON path of the field, e.g. `answer_pivot.answer_start`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A bitext file could not be read (the cause names file and line).
    #[error(transparent)]
    Bitext(#[from] cooc::Error),
    /// The OT solver rejected its input.
    #[error(transparent)]
    Ot(#[from] ot_core::Error),
    /// A libtorch call failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// An encoder failed.
    #[error(transparent)]
    Encoder(#[from] clir_encoders::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
