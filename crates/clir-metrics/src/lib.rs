//! trec_eval-exact IR evaluation with paired significance tests.
//!
//! `clir-metrics` reads TREC qrels and runs (plain or gzipped, in parallel), computes the
//! measures of trec_eval 9.0.8 with its exact semantics (ordering by score then docno
//! descending, `-c`, `-l`, `-M`, `-J`), prints trec_eval's text output, and compares systems
//! with paired t, Wilcoxon, randomization and bootstrap tests.
//!
//! ```
//! use clir_metrics::{Evaluator, Measure, Qrels, Run};
//!
//! let qrels = Qrels::builder()
//!     .judgement("q1", "d1", 1)
//!     .judgement("q1", "d2", 0)
//!     .judgement("q1", "d3", 2)
//!     .build()?;
//! let run = Run::builder()
//!     .doc("q1", "d1", 0.9)
//!     .doc("q1", "d2", 0.8)
//!     .doc("q1", "d3", 0.7)
//!     .build()?;
//! let eval = Evaluator::new([Measure::Map, Measure::P(2), Measure::Rr(Some(10))])
//!     .evaluate(&qrels, &run)?;
//! // AP = (1/1 + 2/3) / 2
//! assert!((eval.mean(&Measure::Map).unwrap() - 5.0 / 6.0).abs() < 1e-12);
//! assert!((eval.mean(&Measure::P(2)).unwrap() - 0.5).abs() < 1e-12);
//! assert!((eval.mean(&Measure::Rr(Some(10))).unwrap() - 1.0).abs() < 1e-12);
//! # Ok::<(), clir_metrics::Error>(())
//! ```
//!
//! ## Semantics
//!
//! Agreement is checked against pytrec_eval 0.5.10 (trec_eval 9.0.8) on raw values to 1e-9 and
//! against the printed output of trec_eval 9.0.8 built from source, line for line
//! (`tests/golden.rs`, `tests/trec_eval_text.rs`). In particular: the rank column is ignored;
//! ties are broken by docno in descending byte order; duplicate (qid, docno) pairs are errors;
//! negative labels are judged non-relevant (and count as "unjudged in the pool" for `bpref`,
//! `infAP` and `-J`); `ndcg`/`ndcg_cut` use the label as gain whatever `-l` is;
//! `iprec_at_recall` uses trec_eval 9's `(long)(p R + 0.9)` cutoff (and its NaN on an empty
//! ranking); `-c` divides means by the number of qrels queries and reports `num_q` and
//! `num_rel` over all of them.
//!
//! Not implemented from `-m all_trec`: `relstring` (a string, not a number), and measure
//! parameters other than cutoffs and levels (such as gain maps of `ndcg`, `G`, `ndcg_rel` and
//! `Rndcg`, `set_F.beta` or `utility` coefficients).
//!
//! | feature | what it adds |
//! |---|---|
//! | (none) | everything; this crate has no optional features and never links libtorch |
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod cli;
pub mod compare;
mod error;
mod eval;
mod ids;
mod io;
mod measure;
mod qrels;
mod run;
pub mod stats;
mod table;

pub use error::{Error, Result, Source};
pub use eval::{Evaluation, Evaluator};
pub use ids::{DocId, Interner, QueryId};
pub use measure::{
    DEFAULT_CUTOFFS, Measure, RECALL_LEVELS, RPREC_MULTIPLES, SUCCESS_CUTOFFS, all_trec, official,
};
pub use qrels::{Qrels, QrelsBuilder};
pub use run::{Run, RunBuilder};
