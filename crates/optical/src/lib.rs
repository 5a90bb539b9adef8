//! OPTICAL: optimal-transport distillation for cross-lingual retrieval (Huang, Yu & Allan,
//! WSDM 2023), composed from the workspace's libraries.
//!
//! - [`align`]: soft token alignment of sentence pairs by entropic OT (what OPTICAL distils).
//! - [`data`]: the evaluation collections (AfriQA-R, XQuAD-R, FLORES-200 devtest) read from their
//!   original files under a data root, with every field type-checked.
//! - [`model`]: encoders configured for the query or passage side of retrieval.
//! - [`distil`]: training a query encoder for a language from bitext (OPTICAL and baselines).
//! - [`retrieve`]: dense exact search with an embedding cache, BM25, fusion.
//! - [`noise`]: seeded, rate-controlled query noise (typos, diacritics, code-switching, …).
//! - [`diagnostics`]: embedding-space alignment on parallel text (bitext retrieval both ways,
//!   cosine of parallel vs non-parallel pairs).
//! - [`experiment`]: grids of methods × languages × seeds, run records, tables and plots.
#![warn(missing_docs)]

pub mod align;
pub mod data;
pub mod diagnostics;
pub mod distil;
mod error;
pub mod experiment;
pub mod model;
pub mod noise;
pub mod retrieve;

pub use error::{Error, Result};

pub use clir_encoders;
pub use clir_metrics;
pub use cooc;
pub use ot_core;
