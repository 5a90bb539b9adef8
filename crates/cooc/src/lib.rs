//! Cross-lingual co-occurrence statistics and cost matrices from bitext.
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};
pub use ndarray;
