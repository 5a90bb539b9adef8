//! trec_eval-exact IR evaluation with significance tests.
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};
