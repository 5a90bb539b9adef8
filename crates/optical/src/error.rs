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
    /// Evaluation (qrels, runs, measures, tests) failed.
    #[error(transparent)]
    Metrics(#[from] clir_metrics::Error),
    /// The lexical index failed.
    #[error("lexical index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A configuration file is not valid TOML or does not match its schema.
    #[error("{path}: {source}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's complaint (it names the line, column and key).
        #[source]
        source: toml::de::Error,
    },
    /// A setting is out of range or inconsistent with another.
    #[error("invalid setting `{field}`: {reason}")]
    Config {
        /// The setting, e.g. `optical.eps`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint or cache cannot be used to resume (written by another configuration or
    /// version, or damaged).
    #[error("cannot resume from {path}: {reason}")]
    Resume {
        /// The checkpoint or cache.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A plot could not be drawn or written.
    #[error("cannot draw {path}: {reason}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing a file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
