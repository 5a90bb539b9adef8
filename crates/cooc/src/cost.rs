//! Cost blocks for optimal transport: `cost[i, j] = 1 − assoc(src_i, tgt_j)` in `[0, 1]`.
//!
//! A [`CostTable`] precomputes the scaled cost of every stored pair once (CSR, like the
//! counts); a block lookup is then one binary search per (distinct source token, distinct
//! target token) inside a shrinking row range. Pairs never seen together (or pruned, or with
//! an id the statistics do not know, such as `[CLS]`) cost exactly 1.

use ndarray::{Array2, Array3};
use rayon::prelude::*;

use crate::assoc::{PairCounts, scale, score};
use crate::{CoocStats, Error, Measure, Result, SrcTokenId, TgtTokenId};

/// Precomputed costs of every stored (source, target) pair under one measure.
#[derive(Debug, Clone)]
pub struct CostTable {
    measure: Measure,
    row_ptr: Vec<u64>,
    cols: Vec<u32>,
    cost: Vec<f32>,
}

/// A padded batch of cost blocks with masks (`true` = real token).
#[derive(Debug, Clone, PartialEq)]
pub struct CostBatch {
    /// `[B, M, N]`; padded cells are 1.
    pub cost: Array3<f32>,
    /// `[B, M]`.
    pub src_mask: Array2<bool>,
    /// `[B, N]`.
    pub tgt_mask: Array2<bool>,
}

/// [`CostBatch`] as tch tensors.
#[cfg(feature = "tch")]
#[derive(Debug)]
pub struct TchCostBatch {
    /// `[B, M, N]`, `Kind::Float`; padded cells are 1.
    pub cost: tch::Tensor,
    /// `[B, M]`, `Kind::Bool`.
    pub src_mask: tch::Tensor,
    /// `[B, N]`, `Kind::Bool`.
    pub tgt_mask: tch::Tensor,
}

impl CostBatch {
    /// Uniform marginals over the real tokens (`1/m` on each of the `m` real source tokens, 0
    /// on padding; likewise for targets): the `a`, `b` that ot-core's `Sinkhorn::solve` takes
    /// with this batch's `cost`, where zero weight masks a padded row or column.
    pub fn uniform_marginals(&self) -> (Array2<f32>, Array2<f32>) {
        let uniform = |mask: &Array2<bool>| {
            let mut w = mask.mapv(|x| if x { 1.0f32 } else { 0.0 });
            for mut row in w.rows_mut() {
                let total: f32 = row.sum();
                if total > 0.0 {
                    row.mapv_inplace(|x| x / total);
                }
            }
            w
        };
        (uniform(&self.src_mask), uniform(&self.tgt_mask))
    }
}

impl CostTable {
    /// Scores every stored pair of `stats` with `measure` and add-`k` smoothing (see
    /// [`crate::assoc`]); [`Measure::Model1`] needs statistics trained with Model 1.
    pub fn new(stats: &CoocStats, measure: Measure, k: f64) -> Result<Self> {
        if !(k >= 0.0 && k.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "k",
                reason: format!("{k} is not a finite non-negative number"),
            });
        }
        let t = &stats.table;
        let assoc: Vec<f64> = if measure == Measure::Model1 {
            let m = stats.model1.as_ref().ok_or(Error::MeasureUnavailable {
                measure: "model1",
                reason: "the statistics were counted without IBM Model 1",
            })?;
            m.prob.iter().map(|&p| f64::from(p)).collect()
        } else {
            let raw: Vec<f64> = (0..t.n_rows())
                .into_par_iter()
                .flat_map_iter(|s| {
                    let (lo, hi) = (t.row_ptr[s] as usize, t.row_ptr[s + 1] as usize);
                    (lo..hi).map(move |e| {
                        let pc = PairCounts {
                            joint: t.counts[e],
                            src: t.src_marginals[s],
                            tgt: t.tgt_marginals[t.cols[e] as usize],
                            n: t.n_pairs,
                        };
                        score(measure, pc, k).unwrap_or(0.0)
                    })
                })
                .collect();
            let max = raw.iter().copied().fold(0.0f64, f64::max);
            raw.into_iter().map(|r| scale(measure, r, max)).collect()
        };
        Ok(Self {
            measure,
            row_ptr: t.row_ptr.clone(),
            cols: t.cols.clone(),
            cost: assoc
                .into_iter()
                .map(|a| (1.0 - a).clamp(0.0, 1.0) as f32)
                .collect(),
        })
    }

    /// The measure.
    pub fn measure(&self) -> Measure {
        self.measure
    }

    /// Cost of one pair (1 if never seen).
    pub fn cost(&self, s: SrcTokenId, t: TgtTokenId) -> f32 {
        let s = s.0 as usize;
        if s + 1 >= self.row_ptr.len() {
            return 1.0;
        }
        let (lo, hi) = (self.row_ptr[s] as usize, self.row_ptr[s + 1] as usize);
        self.cols[lo..hi]
            .binary_search(&t.0)
            .map_or(1.0, |k| self.cost[lo + k])
    }

    /// Writes the `m × n` block of `src × tgt` row-major into `out` (length ≥ m·n, row stride n).
    fn fill(&self, src: &[SrcTokenId], tgt: &[TgtTokenId], out: &mut [f32], stride: usize) {
        // Distinct target ids in sorted order, each with the columns holding it.
        let mut order: Vec<(u32, usize)> = tgt.iter().enumerate().map(|(j, t)| (t.0, j)).collect();
        order.sort_unstable();
        for (i, s) in src.iter().enumerate() {
            let row_out = &mut out[i * stride..i * stride + tgt.len()];
            let s = s.0 as usize;
            if s + 1 >= self.row_ptr.len() {
                row_out.fill(1.0);
                continue;
            }
            let (lo, hi) = (self.row_ptr[s] as usize, self.row_ptr[s + 1] as usize);
            let (cols, cost) = (&self.cols[lo..hi], &self.cost[lo..hi]);
            let mut at = 0;
            for &(t, j) in &order {
                at += cols[at..].partition_point(|&c| c < t);
                row_out[j] = if at < cols.len() && cols[at] == t {
                    cost[at]
                } else {
                    1.0
                };
            }
        }
    }

    /// The `m × n` cost block of one sentence pair.
    ///
    /// ```
    /// # use cooc::*;
    /// # let pairs = [("a b", "x y"), ("a", "x")].iter().enumerate().map(|(i, (s, t))|
    /// #     Ok(SentencePair { src: s.to_string(), tgt: t.to_string(), line: i as u64 }));
    /// # let stats = CoocStats::builder(Tokenizer::word(WordOptions::default())).count(pairs)?;
    /// let table = CostTable::new(&stats, Measure::Dice, 0.0)?;
    /// let tok = stats.tokenizer();
    /// let block = table.cost_block(&tok.encode_src("a b")?, &tok.encode_tgt("x y")?);
    /// assert_eq!(block.dim(), (2, 2));
    /// assert!(block[[0, 0]] < block[[0, 1]]); // a↔x (Dice 1) is cheaper than a↔y (Dice 2/3)
    /// # Ok::<(), cooc::Error>(())
    /// ```
    pub fn cost_block(&self, src: &[SrcTokenId], tgt: &[TgtTokenId]) -> Array2<f32> {
        let mut out = Array2::<f32>::ones((src.len(), tgt.len()));
        if let Some(slice) = out.as_slice_mut() {
            self.fill(src, tgt, slice, tgt.len());
        }
        out
    }

    /// Cost blocks of a batch, padded to the longest sides, in parallel over the batch.
    pub fn cost_batch(&self, batch: &[(&[SrcTokenId], &[TgtTokenId])]) -> CostBatch {
        let b = batch.len();
        let m = batch.iter().map(|p| p.0.len()).max().unwrap_or(0);
        let n = batch.iter().map(|p| p.1.len()).max().unwrap_or(0);
        let mut cost = Array3::<f32>::ones((b, m, n));
        if m * n > 0
            && let Some(slice) = cost.as_slice_mut()
        {
            slice
                .par_chunks_mut(m * n)
                .zip(batch.par_iter())
                .for_each(|(out, (s, t))| self.fill(s, t, out, n));
        }
        let src_mask = Array2::from_shape_fn((b, m), |(k, i)| i < batch[k].0.len());
        let tgt_mask = Array2::from_shape_fn((b, n), |(k, j)| j < batch[k].1.len());
        CostBatch {
            cost,
            src_mask,
            tgt_mask,
        }
    }

    /// [`CostTable::cost_batch`] as tch tensors on `device`.
    #[cfg(feature = "tch")]
    pub fn cost_batch_tensor(
        &self,
        batch: &[(&[SrcTokenId], &[TgtTokenId])],
        device: tch::Device,
    ) -> Result<TchCostBatch> {
        let cb = self.cost_batch(batch);
        let (b, m, n) = cb.cost.dim();
        let (b, m, n) = (b as i64, m as i64, n as i64);
        // Built here in standard layout, so the raw vectors are row-major with no offset.
        let cost = cb.cost.into_raw_vec_and_offset().0;
        let src_mask = cb.src_mask.into_raw_vec_and_offset().0;
        let tgt_mask = cb.tgt_mask.into_raw_vec_and_offset().0;
        let cost = tch::Tensor::f_from_slice(&cost)?
            .f_view([b, m, n])?
            .f_to_device(device)?;
        let src_mask = tch::Tensor::f_from_slice(&src_mask)?
            .f_view([b, m])?
            .f_to_device(device)?;
        let tgt_mask = tch::Tensor::f_from_slice(&tgt_mask)?
            .f_view([b, n])?
            .f_to_device(device)?;
        Ok(TchCostBatch {
            cost,
            src_mask,
            tgt_mask,
        })
    }
}

/// Converts encoder input ids (`i64`, as in `input_ids` tensors) to source ids; negative ids
/// become [`SrcTokenId::UNKNOWN`].
pub fn src_ids(ids: &[i64]) -> Vec<SrcTokenId> {
    ids.iter()
        .map(|&i| u32::try_from(i).map_or(SrcTokenId::UNKNOWN, SrcTokenId))
        .collect()
}

/// Converts encoder input ids to target ids; negative ids become [`TgtTokenId::UNKNOWN`].
pub fn tgt_ids(ids: &[i64]) -> Vec<TgtTokenId> {
    ids.iter()
        .map(|&i| u32::try_from(i).map_or(TgtTokenId::UNKNOWN, TgtTokenId))
        .collect()
}
