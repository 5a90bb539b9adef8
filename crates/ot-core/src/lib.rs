//! Entropic optimal transport over ndarray and libtorch.
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};
pub use ndarray;
#[cfg(feature = "tch")]
pub use tch;
