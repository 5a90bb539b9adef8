//! Retrieval: dense exact search with a document-embedding cache, BM25, fusion and a word-by-word
//! lexicon for translated lexical queries.
//!
//! | item | what it does |
//! |---|---|
//! | [`DenseIndex`] | documents encoded once by a passage encoder (cached on disk by model + corpus), exact top-k by inner product |
//! | [`Bm25Index`] | tantivy BM25 (k1 1.2, b 0.75) over lower-cased simple tokens; queries are bags of terms, never parsed as query syntax |
//! | [`rrf`] | reciprocal-rank fusion of several runs (Cormack, Clarke & Büttcher, SIGIR 2009) |
//! | [`Lexicon`] | word-by-word translation with the best associated English word of each source word in the bitext |
//!
//! Every search returns a [`clir_metrics::Run`]; [`save_run`] writes one atomically and
//! [`qrels_of`] turns a collection's judgments into [`clir_metrics::Qrels`].
//!
//! ```
//! use optical::data::{Document, Topic};
//! use optical::retrieve::{Bm25Index, rrf};
//!
//! let docs = [("d1", "Kano is a city in Nigeria"), ("d2", "Paris is the capital of France")]
//!     .map(|(id, text)| Document { id: id.into(), text: text.into() });
//! let bm25 = Bm25Index::build(&docs)?;
//! let queries = [Topic { id: "q1".into(), text: "Where is \"Kano\"?".into() }];
//! let run = bm25.search(&queries, 10, "bm25")?;
//! let q = run.query("q1").expect("q1 is answered");
//! assert_eq!(run.doc_name(run.ranking(q)[0].0), "d1");
//! let fused = rrf(&[&run, &run], 60.0, 10, "fused")?;
//! assert_eq!(fused.num_queries(), 1);
//! # Ok::<(), optical::Error>(())
//! ```

mod bm25;
mod cache;
mod dense;
mod fusion;
mod lexicon;

pub use bm25::{Bm25Index, Bm25Options};
pub use dense::DenseIndex;
pub use fusion::rrf;
pub use lexicon::{Lexicon, LexiconOptions};

use std::path::Path;

use clir_metrics::{Measure, Qrels, Run};

use crate::Result;
use crate::data::{EvalCollection, write_atomically};

/// The measures every table reports, as [`clir_metrics::compare`] takes them: nDCG@10, MAP,
/// MRR@10 (reciprocal rank of the first relevant document in the top 10) and Recall@100.
pub const HEADLINE: [Measure; 4] = [
    Measure::NdcgCut(10),
    Measure::Map,
    Measure::Rr(Some(10)),
    Measure::Recall(100),
];

/// The judgments of `c` as [`Qrels`].
///
/// ```
/// use optical::data::{EvalCollection, Judgment};
///
/// let c = EvalCollection {
///     qrels: vec![Judgment { query_id: "q1".into(), doc_id: "d1".into(), relevance: 1 }],
///     ..EvalCollection::default()
/// };
/// let qrels = optical::retrieve::qrels_of(&c)?;
/// assert_eq!(qrels.label("q1", "d1"), Some(1));
/// # Ok::<(), optical::Error>(())
/// ```
pub fn qrels_of(c: &EvalCollection) -> Result<Qrels> {
    let mut b = Qrels::builder();
    for j in &c.qrels {
        b.push(&j.query_id, &j.doc_id, j.relevance);
    }
    Ok(b.build()?)
}

/// Writes `run` as a TREC run file through a temporary sibling and a rename (a reader never sees
/// half a run), creating the parent folder.
pub fn save_run(run: &Run, path: &Path) -> Result<()> {
    write_atomically(path, |w| run.write(w))
}

/// Keeps the best `k` of `scores` (higher first, ties by lower index) as `(index, score)`.
pub(crate) fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut all: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    let k = k.min(all.len());
    if k == 0 {
        return Vec::new();
    }
    if k < all.len() {
        all.select_nth_unstable_by(k - 1, order);
        all.truncate(k);
    }
    all.sort_unstable_by(order);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_breaks_ties_by_index() {
        let got = top_k(&[0.5, 0.9, 0.5, 0.1, 0.9], 3);
        assert_eq!(got, vec![(1, 0.9), (4, 0.9), (0, 0.5)]);
        assert_eq!(top_k(&[0.3], 5), vec![(0, 0.3)]);
        assert!(top_k(&[0.3], 0).is_empty());
    }
}
