//! Cross-lingual co-occurrence statistics, association measures and optimal-transport cost
//! blocks from bitext.
//!
//! OPTICAL casts the token alignment of a sentence pair as entropic optimal transport; this
//! crate supplies a cost matrix for it from the bitext alone. It streams a bitext
//! ([`bitext`]), tokenises it into words or into the subword ids of a Hugging Face
//! `tokenizer.json` (the ids the encoders see), counts sentence-level co-occurrence into a
//! sparse table ([`CoocTable`]), scores pairs with an association measure ([`Measure`]: Dice,
//! PMI, NPMI, G², φ², conditional probabilities, IBM Model 1) and turns any pair of token id
//! sequences into the `m × n` block `1 − assoc` in `[0, 1]` ([`CostTable`]), single or batched
//! with masks. Hard alignments, Pharaoh output and AER live in [`align`].
//!
//! ```
//! use cooc::{CoocStats, CostTable, Measure, SentencePair, Tokenizer, WordOptions};
//!
//! let bitext = [("the house", "das haus"), ("the cat", "die katze"), ("a house", "ein haus")];
//! let pairs = bitext.iter().enumerate().map(|(i, (s, t))| {
//!     Ok(SentencePair { src: s.to_string(), tgt: t.to_string(), line: i as u64 + 1 })
//! });
//! let stats = CoocStats::builder(Tokenizer::word(WordOptions::default())).count(pairs)?;
//! let tok = stats.tokenizer();
//! let (house, haus) = (tok.encode_src("house")?[0], tok.encode_tgt("haus")?[0]);
//! assert_eq!(stats.table().count(house, haus), 2);
//!
//! let costs = CostTable::new(&stats, Measure::Dice, 0.0)?;
//! let src = tok.encode_src("the house")?;
//! let tgt = tok.encode_tgt("das haus")?;
//! let block = costs.cost_block(&src, &tgt);
//! assert_eq!(block.dim(), (2, 2));
//! assert_eq!(block[[1, 1]], 0.0); // house ↔ haus: Dice 1, cost 0
//! assert!(block.iter().all(|&c| (0.0..=1.0).contains(&c)));
//!
//! let batch = costs.cost_batch(&[(&src, &tgt), (&src[..1], &tgt)]);
//! assert_eq!(batch.cost.dim(), (2, 2, 2));
//! assert!(!batch.src_mask[[1, 1]]);
//! # Ok::<(), cooc::Error>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tch` | no | [`CostTable::cost_batch_tensor`]: cost blocks and masks as `tch::Tensor` on any device |
//!
//! # Files
//!
//! Statistics are saved in a versioned binary format with a checksum ([`persist`]) that records
//! the tokenizer's identity; loading them with another tokenizer is an error.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod align;
pub mod assoc;
pub mod bitext;
mod cost;
mod counts;
mod error;
mod model1;
pub mod persist;
mod stats;
mod tokenize;

pub use align::{AerReport, AlignMethod, Alignment, SinkhornAlignOutput};
pub use assoc::Measure;
pub use bitext::{Dedup, LinePairs, SentencePair, StrayColumns, TsvOptions, TsvPairs, TsvReport};
#[cfg(feature = "tch")]
pub use cost::TchCostBatch;
pub use cost::{CostBatch, CostTable, src_ids, tgt_ids};
pub use counts::{CoocTable, CountOptions, Counter, MemoryReport, Window};
pub use error::{Error, Result};
pub use model1::{DiagonalPrior, Model1, Model1Params};
pub use ndarray;
pub use ot_core;
pub use stats::{CoocStats, StatsBuilder};
#[cfg(feature = "tch")]
pub use tch;
pub use tokenize::{
    Interner, Punctuation, SrcTokenId, SubwordTokenizer, TgtTokenId, Tokenizer, TokenizerIdentity,
    WordOptions, split_words,
};
