//! Run records: what one cell of a grid measured, committed as JSON so tables can be rebuilt
//! and grids resumed across sittings without checkpoints, runs or embeddings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clir_metrics::{Evaluator, Measure, Qrels, Run};
use serde::{Deserialize, Serialize};

use crate::data::write_atomically;
use crate::{Error, Result};

/// A headline measure: the record key, the table label and how it is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headline {
    /// Key in [`RunRecord::means`] and [`RunRecord::per_query`].
    pub key: &'static str,
    /// Column or table label.
    pub label: &'static str,
    /// The trec_eval measure.
    pub measure: Measure,
    /// Only the top `cutoff` documents count (trec_eval `-M`), for MRR@10.
    pub cutoff: Option<usize>,
}

/// nDCG@10, MAP, MRR@10 and Recall@100: the measures every table reports.
pub const HEADLINE: [Headline; 4] = [
    Headline {
        key: "ndcg_cut_10",
        label: "nDCG@10",
        measure: Measure::NdcgCut(10),
        cutoff: None,
    },
    Headline {
        key: "map",
        label: "MAP",
        measure: Measure::Map,
        cutoff: None,
    },
    Headline {
        key: "mrr_10",
        label: "MRR@10",
        measure: Measure::RecipRank,
        cutoff: Some(10),
    },
    Headline {
        key: "recall_100",
        label: "R@100",
        measure: Measure::Recall(100),
        cutoff: None,
    },
];

/// Recall@1, @5 and @10: the retrieval-recall measures an alignment grid adds to [`HEADLINE`]
/// (see [`super::ExperimentConfig::alignment`]).
pub const ALIGNMENT_RECALL: [Headline; 3] = [
    Headline {
        key: "recall_1",
        label: "R@1",
        measure: Measure::Recall(1),
        cutoff: None,
    },
    Headline {
        key: "recall_5",
        label: "R@5",
        measure: Measure::Recall(5),
        cutoff: None,
    },
    Headline {
        key: "recall_10",
        label: "R@10",
        measure: Measure::Recall(10),
        cutoff: None,
    },
];

/// Per-query values of the [`HEADLINE`] measures over *every* query of `qrels` (a query the run
/// does not answer scores 0, as with trec_eval `-c`): `measure key → query id → value`.
pub fn per_query_headline(
    qrels: &Qrels,
    run: &Run,
) -> Result<BTreeMap<String, BTreeMap<String, f64>>> {
    per_query_measures(qrels, run, &HEADLINE)
}

/// Per-query values of `measures` over every query of `qrels`, as [`per_query_headline`].
pub fn per_query_measures(
    qrels: &Qrels,
    run: &Run,
    measures: &[Headline],
) -> Result<BTreeMap<String, BTreeMap<String, f64>>> {
    let mut out = BTreeMap::new();
    for &h in measures {
        let eval = Evaluator::new([h.measure])
            .max_rank(h.cutoff)
            .evaluate(qrels, run);
        let mut values: BTreeMap<String, f64> = qrels
            .query_ids()
            .map(|(_, name)| (name.to_owned(), 0.0))
            .collect();
        match eval {
            Ok(eval) => {
                for q in eval.queries() {
                    if let Some(v) = eval.value(q, &h.measure) {
                        values.insert(q.clone(), v);
                    }
                }
            }
            // A run that answers none of the queries scores 0 everywhere.
            Err(clir_metrics::Error::NoQueries) => {}
            Err(e) => return Err(e.into()),
        }
        out.insert(h.key.to_owned(), values);
    }
    Ok(out)
}

/// What one (collection, method, seed) cell measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Experiment name.
    pub experiment: String,
    /// Collection, e.g. `afriqa:hau:test`.
    pub collection: String,
    /// Method (row) name.
    pub method: String,
    /// The seed, for seeded methods.
    pub seed: Option<u64>,
    /// SHA-256 of everything that determines the cell; a record with another fingerprint is
    /// stale and recomputed.
    pub fingerprint: String,
    /// `git rev-parse HEAD` when the cell ran.
    pub git_commit: Option<String>,
    /// Where it ran, e.g. `cpu (2 threads)` or `cuda (NVIDIA H100)`.
    pub host: String,
    /// Wall time of the cell in seconds (training included, cached teacher states excluded).
    pub wall_s: f64,
    /// Seconds since the Unix epoch when the record was written.
    pub finished_unix: u64,
    /// Number of queries evaluated (every query of the qrels).
    pub num_queries: usize,
    /// Mean over queries of each headline measure.
    pub means: BTreeMap<String, f64>,
    /// Headline measure → query id → value.
    pub per_query: BTreeMap<String, BTreeMap<String, f64>>,
    /// The distillation report (config, throughput, memory), for trained methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<serde_json::Value>,
}

impl RunRecord {
    /// Fills `means` and `num_queries` from `per_query`.
    pub fn with_means(mut self) -> Self {
        self.means = self
            .per_query
            .iter()
            .map(|(k, v)| {
                let mean = if v.is_empty() {
                    0.0
                } else {
                    v.values().sum::<f64>() / v.len() as f64
                };
                (k.clone(), mean)
            })
            .collect();
        self.num_queries = self.per_query.values().map(|v| v.len()).max().unwrap_or(0);
        self
    }

    /// Reads a record; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    path: path.into(),
                    source,
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| Error::Json {
                path: path.into(),
                line: source.line(),
                source,
            })
    }

    /// Writes the record as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            path: path.into(),
            line: 0,
            source,
        })?;
        write_atomically(path, |w| {
            use std::io::Write;
            w.write_all(json.as_bytes())?;
            w.write_all(b"\n")
        })
    }
}

/// Where the record of a cell lives: `<records>/<collection slug>/<method>/seed-<k>.json`, or
/// `unseeded.json`.
pub fn record_path(
    records: &Path,
    collection_slug: &str,
    method: &str,
    seed: Option<u64>,
) -> PathBuf {
    let file = match seed {
        Some(s) => format!("seed-{s}.json"),
        None => "unseeded.json".into(),
    };
    records.join(collection_slug).join(method).join(file)
}

/// `git rev-parse HEAD`, if this is a git checkout with git installed.
pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanswered_queries_score_zero_and_mrr_is_cut_at_ten() {
        let qrels = Qrels::builder()
            .judgement("q1", "d1", 1)
            .judgement("q2", "d2", 1)
            .judgement("q3", "d3", 1)
            .build()
            .unwrap();
        let mut b = Run::builder().tag("t");
        for i in 0..12 {
            // q1: relevant at rank 1; q2: relevant at rank 12; q3: absent from the run.
            b.push("q1", &format!("x{i}"), -(i as f64));
            b.push("q2", &format!("x{i}"), 100.0 - i as f64);
        }
        b.push("q1", "d1", 10.0);
        b.push("q2", "d2", 0.0);
        let run = b.build().unwrap();
        let pq = per_query_headline(&qrels, &run).unwrap();
        assert!((pq["mrr_10"]["q1"] - 1.0).abs() < 1e-12);
        assert!((pq["mrr_10"]["q2"] - 0.0).abs() < 1e-12);
        assert!((pq["mrr_10"]["q3"] - 0.0).abs() < 1e-12);
        assert!((pq["map"]["q2"] - 1.0 / 13.0).abs() < 1e-12);
        assert!((pq["recall_100"]["q3"] - 0.0).abs() < 1e-12);
        let rec = RunRecord {
            experiment: "e".into(),
            collection: "c".into(),
            method: "m".into(),
            seed: None,
            fingerprint: "f".into(),
            git_commit: None,
            host: "cpu".into(),
            wall_s: 0.0,
            finished_unix: 0,
            num_queries: 0,
            means: BTreeMap::new(),
            per_query: pq,
            training: None,
        }
        .with_means();
        assert_eq!(rec.num_queries, 3);
        assert!((rec.means["mrr_10"] - 1.0 / 3.0).abs() < 1e-12);
        let dir = tempfile::tempdir().unwrap();
        let path = record_path(dir.path(), "afriqa-hau-test", "m", Some(2));
        assert!(RunRecord::load(&path).unwrap().is_none());
        rec.save(&path).unwrap();
        assert_eq!(RunRecord::load(&path).unwrap().unwrap(), rec);
    }
}
