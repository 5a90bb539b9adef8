//! BERT, mBERT and XLM-R encoders on libtorch.
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};
pub use tch;
