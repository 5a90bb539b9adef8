//! Embedding-space alignment of parallel text: how well a student's vectors of sentences in one
//! language line up with the teacher's vectors of their translations.
//!
//! Given `n` translation pairs embedded as `src` (`[n, d]`, the query-language side) and `tgt`
//! (`[n, d]`, English), with row `i` of both the same sentence, [`ParallelAlignment::measure`]
//! scores every source against every target by cosine similarity and reports, per pair:
//!
//! - the rank of the translation when source `i` retrieves among all targets (source → target)
//!   and when target `i` retrieves among all sources (target → source): bitext retrieval, the
//!   measure of Artetxe & Schwenk (TACL 2019) and of the Tatoeba/BUCC evaluations, so Recall@k
//!   is the share of pairs ranked within `k`;
//! - the cosine of the pair (`cos_parallel`) and of one non-parallel pair (`cos_random`: source
//!   `i` against target `(i + ⌊n/2⌋) mod n`, far away in corpora such as FLORES whose
//!   consecutive lines come from the same article), whose difference `cos_gap` is the margin
//!   that retrieval relies on.
//!
//! Ties are broken by index order (the lower index ranks first), as in
//! [`crate::retrieve::DenseIndex::search_vectors`].
//!
//! ```
//! use optical::clir_encoders::tch::Tensor;
//! use optical::diagnostics::{Direction, ParallelAlignment};
//!
//! let src = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, 0.6, 0.8]).view([3, 2]);
//! let tgt = Tensor::from_slice(&[0.9f32, 0.1, 0.2, 0.9, 0.5, 0.8]).view([3, 2]);
//! let a = ParallelAlignment::measure(&src, &tgt)?;
//! assert_eq!(a.ranks(Direction::SourceToTarget), &[1, 1, 1]);
//! assert!(a.recall(Direction::TargetToSource, 1) > 0.99);
//! assert!(a.mean_cos_parallel() > 0.98 && a.mean_cos_random() < 0.6);
//! # Ok::<(), optical::Error>(())
//! ```

use std::collections::BTreeMap;

use clir_encoders::tch::{Device, Kind, Tensor};

use crate::{Error, Result};

/// The recall cut-offs reported for each direction.
pub const RECALL_CUTOFFS: [usize; 4] = [1, 5, 10, 100];

/// Which side retrieves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Source sentence `i` (the query language) retrieves among the targets (English).
    SourceToTarget,
    /// Target sentence `i` (English) retrieves among the sources.
    TargetToSource,
}

/// Per-pair alignment diagnostics of `n` parallel embeddings (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelAlignment {
    rank_s2t: Vec<usize>,
    rank_t2s: Vec<usize>,
    cos_parallel: Vec<f64>,
    cos_random: Vec<f64>,
}

impl ParallelAlignment {
    /// Scores `src` (`[n, d]`) against `tgt` (`[n, d]`, row `i` the translation of source row
    /// `i`; any device and float kind) by cosine similarity. Needs `n ≥ 2` and equal shapes.
    pub fn measure(src: &Tensor, tgt: &Tensor) -> Result<Self> {
        let (s, t) = (src.size(), tgt.size());
        if s.len() != 2 || s != t || s[0] < 2 {
            return Err(Error::Config {
                field: "parallel embeddings".into(),
                reason: format!(
                    "source {s:?} and target {t:?} must both be [n, d] with the same n ≥ 2 and d"
                ),
            });
        }
        let n = s[0] as usize;
        let unit = |x: &Tensor| -> Result<Tensor> {
            let x = x
                .f_detach()?
                .f_to_device(Device::Cpu)?
                .f_to_kind(Kind::Double)?;
            let norm = x
                .f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?
                .f_clamp_min(1e-12)?;
            Ok(x.f_div(&norm)?)
        };
        let sim = unit(src)?.f_matmul(&unit(tgt)?.f_tr()?)?.f_contiguous()?;
        let mut cos = vec![0f64; n * n];
        sim.f_copy_data(&mut cos, n * n)?;
        if let Some(bad) = cos.iter().position(|v| !v.is_finite()) {
            return Err(Error::Config {
                field: "parallel embeddings".into(),
                reason: format!(
                    "non-finite similarity between source {} and target {}",
                    bad / n,
                    bad % n
                ),
            });
        }
        let at = |i: usize, j: usize| cos[i * n + j];
        // Rank of the true partner among `n` candidates scored by `score(c)`.
        let rank = |truth: usize, score: &dyn Fn(usize) -> f64| {
            let v = score(truth);
            1 + (0..n)
                .filter(|&c| match score(c).total_cmp(&v) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Equal => c < truth,
                    std::cmp::Ordering::Less => false,
                })
                .count()
        };
        let rank_s2t = (0..n).map(|i| rank(i, &|j| at(i, j))).collect();
        let rank_t2s = (0..n).map(|j| rank(j, &|i| at(i, j))).collect();
        let cos_parallel = (0..n).map(|i| at(i, i)).collect();
        let cos_random = (0..n).map(|i| at(i, (i + n / 2) % n)).collect();
        Ok(Self {
            rank_s2t,
            rank_t2s,
            cos_parallel,
            cos_random,
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.cos_parallel.len()
    }

    /// Whether there is no pair (never, after [`measure`](Self::measure)).
    pub fn is_empty(&self) -> bool {
        self.cos_parallel.is_empty()
    }

    /// The 1-based rank of each pair's translation in `direction`.
    pub fn ranks(&self, direction: Direction) -> &[usize] {
        match direction {
            Direction::SourceToTarget => &self.rank_s2t,
            Direction::TargetToSource => &self.rank_t2s,
        }
    }

    /// Share of pairs whose translation ranks within `k` in `direction`.
    pub fn recall(&self, direction: Direction, k: usize) -> f64 {
        let ranks = self.ranks(direction);
        ranks.iter().filter(|&&r| r <= k).count() as f64 / ranks.len().max(1) as f64
    }

    /// Cosine of each parallel pair.
    pub fn cos_parallel(&self) -> &[f64] {
        &self.cos_parallel
    }

    /// Cosine of each source with its non-parallel partner `(i + ⌊n/2⌋) mod n`.
    pub fn cos_random(&self) -> &[f64] {
        &self.cos_random
    }

    /// Mean cosine of the parallel pairs.
    pub fn mean_cos_parallel(&self) -> f64 {
        self.cos_parallel.iter().sum::<f64>() / self.len().max(1) as f64
    }

    /// Mean cosine of the non-parallel pairs.
    pub fn mean_cos_random(&self) -> f64 {
        self.cos_random.iter().sum::<f64>() / self.len().max(1) as f64
    }

    /// Per-pair values keyed like [`crate::experiment::RunRecord::per_query`], pair `i` under
    /// `ids[i]`: `rev_recall_k` (target → source, 0 or 1, for each of [`RECALL_CUTOFFS`]),
    /// `cos_parallel`, `cos_random` and `cos_gap`. The source → target direction is the run's
    /// own `recall_k`, measured by trec_eval.
    pub fn per_pair(&self, ids: &[String]) -> Result<BTreeMap<String, BTreeMap<String, f64>>> {
        if ids.len() != self.len() {
            return Err(Error::Config {
                field: "pair ids".into(),
                reason: format!("{} ids for {} pairs", ids.len(), self.len()),
            });
        }
        let column = |f: &dyn Fn(usize) -> f64| -> BTreeMap<String, f64> {
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), f(i)))
                .collect()
        };
        let mut out = BTreeMap::new();
        for k in RECALL_CUTOFFS {
            let hit = column(&|i| f64::from(u8::from(self.rank_t2s[i] <= k)));
            out.insert(format!("rev_recall_{k}"), hit);
        }
        out.insert("cos_parallel".into(), column(&|i| self.cos_parallel[i]));
        out.insert("cos_random".into(), column(&|i| self.cos_random[i]));
        out.insert(
            "cos_gap".into(),
            column(&|i| self.cos_parallel[i] - self.cos_random[i]),
        );
        Ok(out)
    }
}

/// Shares of `values` in `bins` equal-width bins over `[lo, hi]` (values outside are clamped
/// into the end bins); sums to 1 for a non-empty input.
pub fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut out = vec![0.0; bins];
    let ordered = hi > lo; // false for NaN bounds too
    if bins == 0 || values.is_empty() || !ordered {
        return out;
    }
    let width = (hi - lo) / bins as f64;
    for &v in values {
        let b = ((v - lo) / width).floor().clamp(0.0, (bins - 1) as f64) as usize;
        out[b] += 1.0;
    }
    let total = values.len() as f64;
    out.iter_mut().for_each(|c| *c /= total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(rows: &[[f32; 3]]) -> Tensor {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).view([rows.len() as i64, 3])
    }

    #[test]
    fn ranks_recall_and_cosines_match_a_hand_computation() {
        // Source 2 is closer to target 0 than to its own translation.
        let src = tensor(&[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.0, 0.1]]);
        let tgt = tensor(&[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]);
        let a = ParallelAlignment::measure(&src, &tgt).unwrap();
        // s2 · (t0, t1, t2) ∝ (0.9, 0, 0.1): its translation t2 ranks second.
        assert_eq!(a.ranks(Direction::SourceToTarget), &[1, 1, 2]);
        // t2 · (s0, s1, s2) ∝ (0, 0, 0.1): s2 first. t0 · s = (1, 0, 0.994): s0 first.
        assert_eq!(a.ranks(Direction::TargetToSource), &[1, 1, 1]);
        approx::assert_abs_diff_eq!(a.recall(Direction::SourceToTarget, 1), 2.0 / 3.0);
        approx::assert_abs_diff_eq!(a.recall(Direction::TargetToSource, 1), 1.0);
        let c2 = 0.1 / (0.82f64).sqrt();
        approx::assert_abs_diff_eq!(a.cos_parallel()[2], c2, epsilon = 1e-6);
        // Non-parallel partners: 0 → 1, 1 → 2, 2 → 0 (n = 3, shift 1).
        approx::assert_abs_diff_eq!(a.cos_random()[2], 0.9 / (0.82f64).sqrt(), epsilon = 1e-6);
        approx::assert_abs_diff_eq!(a.cos_random()[0], 0.0, epsilon = 1e-12);
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let per = a.per_pair(&ids).unwrap();
        approx::assert_abs_diff_eq!(per["rev_recall_1"]["c"], 1.0);
        approx::assert_abs_diff_eq!(
            per["cos_gap"]["c"],
            c2 - 0.9 / (0.82f64).sqrt(),
            epsilon = 1e-6
        );
        assert!(a.per_pair(&ids[..2]).is_err());
    }

    #[test]
    fn ties_rank_by_index_and_bad_shapes_are_errors() {
        let same = tensor(&[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]);
        let a = ParallelAlignment::measure(&same, &same).unwrap();
        assert_eq!(a.ranks(Direction::SourceToTarget), &[1, 2]);
        assert_eq!(a.ranks(Direction::TargetToSource), &[1, 2]);
        let one = tensor(&[[1.0, 0.0, 0.0]]);
        assert!(ParallelAlignment::measure(&one, &one).is_err());
        assert!(ParallelAlignment::measure(&same, &tensor(&[[1.0, 0.0, 0.0]; 3])).is_err());
    }

    #[test]
    fn histogram_shares_sum_to_one() {
        let h = histogram(&[-1.0, 0.0, 0.1, 0.99, 5.0], 0.0, 1.0, 4);
        assert_eq!(h, vec![0.6, 0.0, 0.0, 0.4]);
        assert!(histogram(&[], 0.0, 1.0, 4).iter().all(|&v| v == 0.0));
    }
}
