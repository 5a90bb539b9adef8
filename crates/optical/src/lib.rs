//! OPTICAL: optimal-transport distillation for cross-lingual retrieval.
#![warn(missing_docs)]

mod error;

pub use clir_encoders;
pub use clir_metrics;
pub use cooc;
pub use error::{Error, Result};
pub use ot_core;
