//! Reciprocal-rank fusion.

use std::collections::HashMap;

use clir_metrics::Run;

use crate::{Error, Result};

/// Reciprocal-rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each document scores
/// `Σ_runs 1 / (k + rank)` over the runs that retrieve it (ranks from 1, in each run's trec_eval
/// order); the top `depth` of each query form the fused run, tagged `tag`. Documents tied at the
/// cut-off are taken in byte order of their ids. `k = 60` is the paper's constant.
///
/// ```
/// use clir_metrics::Run;
/// use optical::retrieve::rrf;
///
/// let a = Run::builder().doc("q", "x", 2.0).doc("q", "y", 1.0).build()?;
/// let b = Run::builder().doc("q", "y", 5.0).doc("q", "z", 4.0).build()?;
/// let fused = rrf(&[&a, &b], 60.0, 10, "rrf")?;
/// let q = fused.query("q").unwrap();
/// let top: Vec<&str> = fused.ranking(q).iter().map(|&(d, _)| fused.doc_name(d)).collect();
/// assert_eq!(top, ["y", "x", "z"]); // y: 1/62 + 1/61; x: 1/61; z: 1/62
/// # Ok::<(), optical::Error>(())
/// ```
pub fn rrf(runs: &[&Run], k: f64, depth: usize, tag: &str) -> Result<Run> {
    if !k.is_finite() || k < 0.0 {
        return Err(Error::Config {
            field: "rrf.k".into(),
            reason: format!("{k}: must be finite and ≥ 0"),
        });
    }
    // Queries in order of first appearance over the runs; documents per query by id.
    let mut order: Vec<String> = Vec::new();
    let mut fused: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for run in runs {
        for (q, name) in run.query_ids() {
            let scores = fused.entry(name.to_owned()).or_insert_with(|| {
                order.push(name.to_owned());
                HashMap::new()
            });
            for (rank, &(d, _)) in run.ranking(q).iter().enumerate() {
                *scores.entry(run.doc_name(d).to_owned()).or_default() +=
                    1.0 / (k + rank as f64 + 1.0);
            }
        }
    }
    let mut builder = Run::builder().tag(tag);
    for q in &order {
        let mut docs: Vec<(&String, f64)> = fused[q].iter().map(|(d, &s)| (d, s)).collect();
        docs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (d, s) in docs.into_iter().take(depth) {
            builder.push(q, d, s);
        }
    }
    Ok(builder.build()?)
}
