//! Cost blocks for optimal transport: `cost[i, j] = 1 − assoc(src_i, tgt_j)` in `[0, 1]`.
//!
//! A [`CostTable`] precomputes the scaled cost of every stored pair once and keeps the pairs
//! that cost less than 1 in a direct `(src, tgt) → cost` hash index ([`PairIndex`]: open
//! addressing, linear probing, one multiplicative hash of the packed `u64` key), so a block
//! lookup is one probe sequence per cell, independent of how long a source row is. Pairs never
//! seen together (or pruned, or with an id the statistics do not know, such as `[CLS]`) cost
//! exactly 1.

use ndarray::{Array2, Array3};
use rayon::prelude::*;

use crate::assoc::{PairCounts, scale, score};
use crate::{CoocStats, Error, Measure, Result, SrcTokenId, TgtTokenId};

/// Precomputed costs of every stored (source, target) pair under one measure.
#[derive(Debug, Clone)]
pub struct CostTable {
    measure: Measure,
    index: PairIndex,
}

/// Open-addressing hash map from a packed pair `(s << 32) | t` to its cost.
///
/// Capacity is a power of two at most half full, so a probe sequence is short; slot key
/// [`PairIndex::EMPTY`] (`u64::MAX`, the pair of two [`SrcTokenId::UNKNOWN`]-like ids that
/// never carries a count) marks a free slot. Keys and values sit in one array of 16-byte slots
/// so a hit costs one cache line.
#[derive(Debug, Clone)]
struct PairIndex {
    slots: Vec<(u64, f32)>,
    shift: u32,
    len: usize,
}

impl PairIndex {
    const EMPTY: u64 = u64::MAX;

    fn with_len(len: usize) -> Self {
        let cap = (len.max(1) * 2).next_power_of_two().max(16);
        Self {
            slots: vec![(Self::EMPTY, 1.0); cap],
            shift: 64 - cap.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        // Fibonacci hashing: the high bits of key · 2⁶⁴/φ.
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Inserts or overwrites; at most `len` given to [`PairIndex::with_len`] distinct keys.
    fn insert(&mut self, key: u64, value: f32) {
        if key == Self::EMPTY {
            return; // two unknown ids: never counted, costs 1
        }
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        while self.slots[i].0 != Self::EMPTY && self.slots[i].0 != key {
            i = (i + 1) & mask;
        }
        self.len += usize::from(self.slots[i].0 == Self::EMPTY);
        self.slots[i] = (key, value);
    }

    #[inline]
    fn get(&self, key: u64) -> f32 {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            let (k, v) = self.slots[i];
            if k == key {
                return v;
            }
            if k == Self::EMPTY {
                return 1.0;
            }
            i = (i + 1) & mask;
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[inline]
fn key(s: SrcTokenId, t: TgtTokenId) -> u64 {
    (u64::from(s.0) << 32) | u64::from(t.0)
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
        let cost: Vec<f32> = assoc
            .into_iter()
            .map(|a| (1.0 - a).clamp(0.0, 1.0) as f32)
            .collect();
        // Only pairs cheaper than 1 are stored: a miss costs 1 anyway.
        let kept = cost.iter().filter(|&&c| c < 1.0).count();
        let mut index = PairIndex::with_len(kept);
        for (s, t, c) in t
            .iter()
            .zip(&cost)
            .filter_map(|((s, t, _), &c)| (c < 1.0).then_some((s, t, c)))
        {
            index.insert(key(s, t), c);
        }
        Ok(Self { measure, index })
    }

    /// The measure.
    pub fn measure(&self) -> Measure {
        self.measure
    }

    /// Number of pairs held in the index (those costing less than 1).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no pair costs less than 1.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cost of one pair (1 if never seen).
    #[inline]
    pub fn cost(&self, s: SrcTokenId, t: TgtTokenId) -> f32 {
        self.index.get(key(s, t))
    }

    /// Writes the `m × n` block of `src × tgt` row-major into `out` (length ≥ m·n, row stride n).
    fn fill(&self, src: &[SrcTokenId], tgt: &[TgtTokenId], out: &mut [f32], stride: usize) {
        for (i, &s) in src.iter().enumerate() {
            let row_out = &mut out[i * stride..i * stride + tgt.len()];
            let hi = u64::from(s.0) << 32;
            // Independent probes: the CPU overlaps their cache misses.
            for (o, &t) in row_out.iter_mut().zip(tgt) {
                *o = self.index.get(hi | u64::from(t.0));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_index_matches_a_map() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut reference = std::collections::HashMap::new();
        for _ in 0..5000 {
            let k = (next() % 97) << 32 | (next() % 1013);
            reference.insert(k, (next() % 1000) as f32 / 1000.0);
        }
        let mut index = PairIndex::with_len(reference.len());
        for (&k, &v) in &reference {
            index.insert(k, v);
        }
        index.insert(PairIndex::EMPTY, 0.5);
        assert_eq!(index.len(), reference.len());
        for s in 0..100u64 {
            for t in 0..1100u64 {
                let k = (s << 32) | t;
                assert_eq!(
                    index.get(k).to_bits(),
                    reference.get(&k).copied().unwrap_or(1.0).to_bits()
                );
            }
        }
        assert_eq!(index.get(PairIndex::EMPTY).to_bits(), 1.0f32.to_bits());
    }
}
