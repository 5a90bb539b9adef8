//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A libtorch call failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (config.json, an index) could not be parsed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// `config.json` names an architecture this crate does not implement.
    #[error(
        "{path}: unsupported model_type {model_type:?} (supported: bert, roberta, xlm-roberta, camembert)"
    )]
    UnsupportedModel {
        /// The config file.
        path: PathBuf,
        /// Its `model_type`.
        model_type: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The model folder has no weight file this crate can read.
    #[error("{dir}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin")]
    NoWeights {
        /// The model folder.
        dir: PathBuf,
    },
    /// A weight file could not be parsed.
    #[error("{path}: invalid safetensors file: {source}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: safetensors::SafeTensorError,
    },
    /// A tensor the architecture needs is not in the weight files.
    #[error("tensor {name:?} is missing from {path}")]
    MissingTensor {
        /// The (normalised) tensor name.
        name: String,
        /// The weight file (or the first of the shards).
        path: PathBuf,
    },
    /// A tensor has a shape other than the configuration implies.
    #[error("tensor {name:?} in {path} has shape {found:?}, expected {expected:?}")]
    TensorShape {
        /// The tensor name.
        name: String,
        /// The weight file.
        path: PathBuf,
        /// The shape the configuration implies.
        expected: Vec<i64>,
        /// The shape in the file.
        found: Vec<i64>,
    },
    /// A tensor is stored in a dtype this crate does not read.
    #[error("tensor {name:?} in {path} has unsupported dtype {dtype}")]
    TensorDtype {
        /// The tensor name.
        name: String,
        /// The weight file.
        path: PathBuf,
        /// The dtype in the file.
        dtype: String,
    },
    /// The tokenizer could not be loaded or failed on an input.
    #[error("tokenizer: {source}")]
    Tokenizer {
        /// The cause.
        #[source]
        source: tokenizers::Error,
    },
    /// An input is unusable (empty batch, bad argument).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
