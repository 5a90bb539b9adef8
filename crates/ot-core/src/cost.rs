//! Ground costs between two batched point sets `x: [batch, m, d]` and `y: [batch, n, d]`.
//!
//! Padded points (zero vectors) give finite costs; mask them through zero weights in `a`/`b`.

use ndarray::{Array3, Axis, Zip};
use rayon::prelude::*;

use crate::backend::{Backend, Float, NdArray};
use crate::{Error, Result};

/// Which ground cost to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostKind {
    /// `‖x_i − y_j‖²`.
    SqEuclidean,
    /// `1 − cos(x_i, y_j)`, norms clamped below at `1e-8` (as `torch.cosine_similarity`).
    Cosine,
    /// `−<x_i, y_j>`.
    Dot,
}

/// Norms are clamped below by this, so that zero padding vectors give finite cosine costs.
pub const NORM_FLOOR: f64 = 1e-8;

/// Backends that can build ground costs.
pub trait PairwiseCost: Backend {
    /// `C[k, i, j] = cost(x[k, i], y[k, j])`, `[batch, m, n]`.
    fn pairwise_cost(&self, x: &Self::Mat, y: &Self::Mat, kind: CostKind) -> Result<Self::Mat>;
}

pub(crate) fn check_points(xs: &[usize], ys: &[usize]) -> Result<()> {
    if xs.len() != 3 || ys.len() != 3 || xs[0] != ys[0] || xs[2] != ys[2] {
        return Err(Error::BadShape {
            argument: "y",
            shape: ys.to_vec(),
            expected: "[batch, n, d] with the batch and d of `x: [batch, m, d]`",
        });
    }
    Ok(())
}

impl<F: Float> PairwiseCost for NdArray<F> {
    fn pairwise_cost(&self, x: &Self::Mat, y: &Self::Mat, kind: CostKind) -> Result<Self::Mat> {
        check_points(x.shape(), y.shape())?;
        let (batch, m, _) = x.dim();
        let n = y.shape()[1];
        let mut out = Array3::<F>::zeros((batch, m, n));
        let floor = F::of(NORM_FLOOR);
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(k, mut c)| {
                let (xk, yk) = (x.index_axis(Axis(0), k), y.index_axis(Axis(0), k));
                let dot = xk.dot(&yk.t());
                let nx: Vec<F> = xk.outer_iter().map(|r| r.dot(&r)).collect();
                let ny: Vec<F> = yk.outer_iter().map(|r| r.dot(&r)).collect();
                Zip::indexed(&mut c).and(&dot).for_each(|(i, j), c, &d| {
                    *c = match kind {
                        CostKind::SqEuclidean => (nx[i] + ny[j] - d - d).max(F::zero()),
                        CostKind::Cosine => {
                            F::one() - d / (nx[i].sqrt().max(floor) * ny[j].sqrt().max(floor))
                        }
                        CostKind::Dot => -d,
                    };
                });
            });
        Ok(out)
    }
}

#[cfg(feature = "tch")]
impl PairwiseCost for crate::backend::Tch {
    fn pairwise_cost(
        &self,
        x: &tch::Tensor,
        y: &tch::Tensor,
        kind: CostKind,
    ) -> Result<tch::Tensor> {
        let (xs, ys): (Vec<usize>, Vec<usize>) = (
            x.size().iter().map(|&d| d as usize).collect(),
            y.size().iter().map(|&d| d as usize).collect(),
        );
        check_points(&xs, &ys)?;
        let dot = x.f_matmul(&y.f_transpose(1, 2)?)?;
        let sq = |t: &tch::Tensor| -> Result<tch::Tensor> {
            Ok(t.f_mul(t)?
                .f_sum_dim_intlist(&[2i64][..], false, None::<tch::Kind>)?)
        };
        Ok(match kind {
            CostKind::SqEuclidean => sq(x)?
                .f_unsqueeze(2)?
                .f_add(&sq(y)?.f_unsqueeze(1)?)?
                .f_sub(&dot.f_mul_scalar(2.0)?)?
                .f_clamp_min(0.0)?,
            CostKind::Cosine => {
                let nx = sq(x)?
                    .f_clamp_min(NORM_FLOOR * NORM_FLOOR)?
                    .f_sqrt()?
                    .f_unsqueeze(2)?;
                let ny = sq(y)?
                    .f_clamp_min(NORM_FLOOR * NORM_FLOOR)?
                    .f_sqrt()?
                    .f_unsqueeze(1)?;
                dot.f_div(&nx.f_mul(&ny)?)?.f_neg()?.f_add_scalar(1.0)?
            }
            CostKind::Dot => dot.f_neg()?,
        })
    }
}
