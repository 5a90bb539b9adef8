//! OPTICAL: optimal-transport distillation for cross-lingual retrieval (Huang, Yu & Allan,
//! WSDM 2023), composed from the workspace's libraries.
//!
//! - [`align`]: soft token alignment of sentence pairs by entropic OT (what OPTICAL distils).
//! - [`data`]: the evaluation collections (AfriQA-R, XQuAD-R, FLORES-200 devtest) read from their
//!   original files under a data root, with every field type-checked.
#![warn(missing_docs)]

pub mod align;
pub mod data;
mod error;

pub use error::{Error, Result};

pub use clir_encoders;
pub use clir_metrics;
pub use cooc;
pub use ot_core;
