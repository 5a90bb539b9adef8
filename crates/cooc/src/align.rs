//! Hard word alignments from a cost block, Pharaoh `i-j` I/O, and AER against gold.

use std::fmt;
use std::str::FromStr;

use ndarray::Array2;

use crate::{CostBatch, Error, Result};

/// A set of links `(i, j)`: source position `i` aligned to target position `j` (0-based).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alignment(pub Vec<(usize, usize)>);

impl Alignment {
    /// Links sorted and deduplicated.
    pub fn normalized(mut self) -> Self {
        self.0.sort_unstable();
        self.0.dedup();
        self
    }
}

impl fmt::Display for Alignment {
    /// Pharaoh format: `0-0 1-2 2-1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, (i, j)) in self.0.iter().enumerate() {
            if k > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{i}-{j}")?;
        }
        Ok(())
    }
}

impl FromStr for Alignment {
    type Err = String;
    /// Parses Pharaoh `i-j` (also `i?j` / `i-j-p` for possible links, read as links).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let mut v = Vec::new();
        for tok in s.split_whitespace() {
            let mut it = tok.split(['-', '?']);
            let (Some(i), Some(j)) = (it.next(), it.next()) else {
                return Err(format!("bad link {tok:?}"));
            };
            let i = i.parse().map_err(|_| format!("bad link {tok:?}"))?;
            let j = j.parse().map_err(|_| format!("bad link {tok:?}"))?;
            v.push((i, j));
        }
        Ok(Self(v).normalized())
    }
}

/// How to extract hard links from a cost block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlignMethod {
    /// Link `(i, j)` when `j` is the cheapest column of row `i` and `i` the cheapest row of
    /// column `j`, and the cost is below 1 (some association).
    ArgmaxIntersection,
    /// Greedy: repeatedly link the cheapest remaining cell whose row and column are both free,
    /// while its cost is below `max_cost` (Melamed's competitive linking).
    CompetitiveLinking {
        /// Cells at or above this cost are never linked.
        max_cost: f32,
    },
}

/// Links of one cost block (`m × n`) by `method`.
pub fn align(cost: &Array2<f32>, method: AlignMethod) -> Alignment {
    let (m, n) = cost.dim();
    let mut links = Vec::new();
    match method {
        AlignMethod::ArgmaxIntersection => {
            let argmin = |it: &mut dyn Iterator<Item = (usize, f32)>| {
                it.fold(None, |best: Option<(usize, f32)>, (k, c)| match best {
                    Some((_, b)) if b <= c => best,
                    _ => Some((k, c)),
                })
            };
            let col_best: Vec<Option<(usize, f32)>> = (0..n)
                .map(|j| argmin(&mut (0..m).map(|i| (i, cost[[i, j]]))))
                .collect();
            for i in 0..m {
                if let Some((j, c)) = argmin(&mut (0..n).map(|j| (j, cost[[i, j]])))
                    && c < 1.0
                    && col_best[j].map(|(bi, _)| bi) == Some(i)
                {
                    links.push((i, j));
                }
            }
        }
        AlignMethod::CompetitiveLinking { max_cost } => {
            let mut cells: Vec<(f32, usize, usize)> = cost
                .indexed_iter()
                .filter(|(_, c)| **c < max_cost)
                .map(|((i, j), &c)| (c, i, j))
                .collect();
            cells.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
            let (mut row_used, mut col_used) = (vec![false; m], vec![false; n]);
            for (_, i, j) in cells {
                if !row_used[i] && !col_used[j] {
                    row_used[i] = true;
                    col_used[j] = true;
                    links.push((i, j));
                }
            }
        }
    }
    Alignment(links).normalized()
}

/// Links where a transport plan is large: `plan[i, j] ≥ threshold · max(row i, column j)`
/// (both-direction relative threshold; `threshold = 1` is the argmax intersection of the plan).
pub fn align_plan(plan: &Array2<f32>, threshold: f32) -> Alignment {
    let (m, n) = plan.dim();
    let row_max: Vec<f32> = (0..m)
        .map(|i| (0..n).map(|j| plan[[i, j]]).fold(0.0, f32::max))
        .collect();
    let col_max: Vec<f32> = (0..n)
        .map(|j| (0..m).map(|i| plan[[i, j]]).fold(0.0, f32::max))
        .collect();
    let mut links = Vec::new();
    for i in 0..m {
        for j in 0..n {
            let p = plan[[i, j]];
            if p > 0.0 && p >= threshold * row_max[i] && p >= threshold * col_max[j] {
                links.push((i, j));
            }
        }
    }
    Alignment(links)
}

/// Output of [`sinkhorn_align`].
#[derive(Debug, Clone, PartialEq)]
pub struct SinkhornAlignOutput {
    /// Hard links per pair of the batch.
    pub alignments: Vec<Alignment>,
    /// Solver status per pair (not converging is reported, the plan is still used).
    pub status: Vec<ot_core::Status>,
}

/// Soft alignment by entropic optimal transport, then hard links: solves ot-core's Sinkhorn on
/// the batch's cost with uniform marginals over real tokens ([`CostBatch::uniform_marginals`])
/// and links `(i, j)` where the plan reaches `threshold` × the maximum of its row and of its
/// column ([`align_plan`]), keeping only cells of cost below 1 (some association).
pub fn sinkhorn_align(
    batch: &CostBatch,
    sinkhorn: &ot_core::Sinkhorn,
    threshold: f32,
) -> Result<SinkhornAlignOutput> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(Error::InvalidParameter {
            name: "threshold",
            reason: format!("{threshold} outside (0, 1]"),
        });
    }
    let (a, b) = batch.uniform_marginals();
    let out = sinkhorn.solve(&ot_core::NdArray::<f32>::new(), &batch.cost, &a, &b)?;
    let alignments = out
        .plan
        .outer_iter()
        .zip(batch.cost.outer_iter())
        .zip(batch.src_mask.outer_iter().zip(batch.tgt_mask.outer_iter()))
        .map(|((plan, cost), (sm, tm))| {
            let (m, n) = (
                sm.iter().filter(|&&x| x).count(),
                tm.iter().filter(|&&x| x).count(),
            );
            let plan = ndarray::Array2::from_shape_fn((m, n), |(i, j)| plan[[i, j]]);
            let mut links = align_plan(&plan, threshold);
            links.0.retain(|&(i, j)| cost[[i, j]] < 1.0);
            links
        })
        .collect();
    Ok(SinkhornAlignOutput {
        alignments,
        status: out.status,
    })
}

/// Alignment quality over a corpus (Och & Ney 2003).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AerReport {
    /// |A ∩ P| / |A|.
    pub precision: f64,
    /// |A ∩ S| / |S|.
    pub recall: f64,
    /// 1 − (|A ∩ S| + |A ∩ P|) / (|A| + |S|).
    pub aer: f64,
}

/// AER of `predicted` against sure links `sure` and possible links `possible` (which should
/// include the sure ones; pass `sure` twice when the gold has only one kind), corpus-level.
pub fn aer(
    predicted: &[Alignment],
    sure: &[Alignment],
    possible: &[Alignment],
) -> Result<AerReport> {
    if predicted.len() != sure.len() || sure.len() != possible.len() {
        return Err(Error::Shape {
            reason: format!(
                "{} predicted, {} sure and {} possible alignments",
                predicted.len(),
                sure.len(),
                possible.len()
            ),
        });
    }
    let (mut a_n, mut s_n, mut as_n, mut ap_n) = (0usize, 0usize, 0usize, 0usize);
    for ((a, s), p) in predicted.iter().zip(sure).zip(possible) {
        let a = a.clone().normalized();
        let s: std::collections::HashSet<_> = s.0.iter().copied().collect();
        let mut p: std::collections::HashSet<_> = p.0.iter().copied().collect();
        p.extend(s.iter().copied());
        a_n += a.0.len();
        s_n += s.len();
        as_n += a.0.iter().filter(|l| s.contains(l)).count();
        ap_n += a.0.iter().filter(|l| p.contains(l)).count();
    }
    let ratio = |x: usize, y: usize| if y == 0 { 0.0 } else { x as f64 / y as f64 };
    Ok(AerReport {
        precision: ratio(ap_n, a_n),
        recall: ratio(as_n, s_n),
        aer: 1.0 - ratio(as_n + ap_n, a_n + s_n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn methods_and_pharaoh() {
        let c = array![[0.1f32, 0.5, 1.0], [0.2, 0.3, 1.0]];
        let a = align(&c, AlignMethod::ArgmaxIntersection);
        assert_eq!(a.to_string(), "0-0");
        let a = align(&c, AlignMethod::CompetitiveLinking { max_cost: 1.0 });
        assert_eq!(a.to_string(), "0-0 1-1");
        assert_eq!("1-1 0-0".parse::<Alignment>().unwrap(), a);
        assert!("1_1".parse::<Alignment>().is_err());
        let plan = array![[0.4f32, 0.1], [0.0, 0.5]];
        assert_eq!(align_plan(&plan, 1.0).to_string(), "0-0 1-1");
    }

    #[test]
    fn sinkhorn_links_the_cheap_diagonal() {
        use crate::{
            CoocStats, CoocTable, CostTable, CountOptions, SrcTokenId, TgtTokenId, Tokenizer,
            WordOptions,
        };
        let corpus: Vec<(Vec<u32>, Vec<u32>)> = (0..60u32)
            .map(|i| (vec![i % 4, (i / 4) % 5 + 4], vec![i % 4, (i / 4) % 5 + 4]))
            .collect();
        let table = CoocTable::from_pairs(&corpus, &CountOptions::default()).unwrap();
        let stats = CoocStats::new(Tokenizer::word(WordOptions::default()), table, None);
        let costs = CostTable::new(&stats, crate::Measure::Dice, 0.0).unwrap();
        let (s1, t1) = (
            [SrcTokenId(0), SrcTokenId(5)],
            [TgtTokenId(5), TgtTokenId(0)],
        );
        let (s2, t2) = ([SrcTokenId(2)], [TgtTokenId(7), TgtTokenId(2)]);
        let batch = costs.cost_batch(&[(&s1, &t1), (&s2, &t2)]);
        let out = sinkhorn_align(&batch, &ot_core::Sinkhorn::new(0.05), 0.5).unwrap();
        assert_eq!(out.alignments[0].to_string(), "0-1 1-0");
        // One source token must send mass to both targets (uniform marginals).
        assert!(out.alignments[1].0.contains(&(0, 1)));
        assert!(sinkhorn_align(&batch, &ot_core::Sinkhorn::new(0.05), 0.0).is_err());
        let (a, b) = batch.uniform_marginals();
        assert_relative_eq!(a[[1, 0]], 1.0);
        assert_relative_eq!(a[[1, 1]], 0.0);
        assert_relative_eq!(b[[0, 0]], 0.5);
    }

    #[test]
    fn aer_values() {
        let gold = vec![Alignment(vec![(0, 0), (1, 1)])];
        let pred = vec![Alignment(vec![(0, 0), (1, 0)])];
        let r = aer(&pred, &gold, &gold).unwrap();
        assert_relative_eq!(r.precision, 0.5);
        assert_relative_eq!(r.recall, 0.5);
        assert_relative_eq!(r.aer, 0.5);
        assert_relative_eq!(aer(&gold, &gold, &gold).unwrap().aer, 0.0);
        assert!(aer(&pred, &[], &[]).is_err());
    }
}
