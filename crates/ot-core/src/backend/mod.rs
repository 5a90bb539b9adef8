//! The [`Backend`] trait: the few coarse, fused kernels that the solvers are written against.
//!
//! Every array is batched: a cost is `[batch, m, n]`, a marginal or potential is `[batch, len]`.
//! Padding is expressed by zero weights in `a` / `b`: a row (column) whose weight is zero is
//! *masked* and receives exactly zero mass; its potential is reported as zero.
//!
//! Kernels work on whole arrays (one pass over the cost on the CPU, a few launches on a GPU);
//! the generic loops in [`crate::sinkhorn`] only move handles around and read a handful of
//! per-problem scalars back to the host at convergence checks.

mod ndarray;
#[cfg(feature = "tch")]
pub(crate) mod tch;

pub use self::ndarray::{Float, NdArray};
#[cfg(feature = "tch")]
pub use self::tch::Tch;

use crate::Result;

/// Which side of the cost a kernel reduces over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Produce a row quantity (length `m`) by reducing over the columns `j`.
    Rows,
    /// Produce a column quantity (length `n`) by reducing over the rows `i`.
    Cols,
}

/// Per-problem statistics of a materialised plan, read back to the host.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PlanStats {
    /// `<P, C>`.
    pub transport_cost: f64,
    /// `Σ_ij P_ij (f_i + g_j)`.
    pub potential_term: f64,
    /// `Σ_ij P_ij`.
    pub mass: f64,
    /// `‖P 1 − a‖₁ + ‖Pᵀ 1 − b‖₁`.
    pub marginal_error: f64,
    /// `KL(P 1 ‖ a) + KL(Pᵀ 1 ‖ b)` (generalised KL, for unbalanced objectives).
    pub marginal_kl: f64,
}

/// Validation summary of a weight vector (`a` or `b`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightCheck {
    /// First non-finite entry (index, value).
    pub non_finite: Option<([usize; 2], f64)>,
    /// First negative entry (index, value).
    pub negative: Option<([usize; 2], f64)>,
    /// Total mass of each problem.
    pub mass: Vec<f64>,
}

/// A numerical backend: array types plus the coarse kernels of Sinkhorn-type solvers.
///
/// `Mat` holds `[batch, m, n]` costs, plans or Gibbs kernels; `Vec` holds `[batch, len]`
/// marginals, potentials or scalings. Neither needs to be `Clone` (`tch::Tensor` is not).
pub trait Backend {
    /// A batch of matrices, `[batch, m, n]`.
    type Mat;
    /// A batch of vectors, `[batch, len]`.
    type Vec;

    /// `(batch, m, n)` of a matrix batch.
    fn mat_shape(&self, x: &Self::Mat) -> Result<Vec<usize>>;
    /// Shape of a vector batch (expected `(batch, len)`).
    fn vec_shape(&self, x: &Self::Vec) -> Result<Vec<usize>>;
    /// The first non-finite entry of a matrix batch, if any.
    fn find_non_finite(&self, x: &Self::Mat) -> Result<Option<([usize; 3], f64)>>;
    /// Checks a weight vector: finiteness, sign, and per-problem mass.
    fn check_weights(&self, w: &Self::Vec) -> Result<WeightCheck>;

    /// `ln w`, with `-inf` where `w` is zero (masked).
    fn log_weights(&self, w: &Self::Vec) -> Result<Self::Vec>;
    /// A zero vector batch shaped like `like`.
    fn zeros_like(&self, like: &Self::Vec) -> Result<Self::Vec>;
    /// A copy (a fresh handle; tch tensors share storage but keep the graph).
    fn copy(&self, x: &Self::Vec) -> Result<Self::Vec>;

    /// Log-domain soft-min: for `side = Rows`,
    /// `out_i = scale · (−eps · ln Σ_j exp(log_w_j + (pot_j − C_ij) / eps))`, zero where
    /// `log_own_i = −inf`; `Cols` is the same over `i` with `Cᵀ`. `scale` is 1 for balanced OT
    /// and `reg_m / (reg_m + eps)` for KL-relaxed marginals.
    #[allow(clippy::too_many_arguments)]
    fn softmin(
        &self,
        cost: &Self::Mat,
        side: Side,
        pot: &Self::Vec,
        log_w: &Self::Vec,
        log_own: &Self::Vec,
        eps: f64,
        scale: f64,
    ) -> Result<Self::Vec>;

    /// Fixed-point residual per problem: `Σ_i w_i |exp((old_i − new_i) / eps) − 1|`. For
    /// balanced OT, evaluated on the `f` update, it is exactly `‖P 1 − a‖₁` of the plan before
    /// the update. NaN or infinity when the iterates have diverged.
    fn residual(
        &self,
        w: &Self::Vec,
        old: &Self::Vec,
        new: &Self::Vec,
        eps: f64,
    ) -> Result<Vec<f64>>;

    /// The plan `P_ij = exp(log_a_i + log_b_j + (f_i + g_j − C_ij) / eps)`; exactly zero on
    /// masked rows and columns.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        cost: &Self::Mat,
        f: &Self::Vec,
        g: &Self::Vec,
        log_a: &Self::Vec,
        log_b: &Self::Vec,
        eps: f64,
    ) -> Result<Self::Mat>;

    /// Per-problem statistics of a plan (host transfer).
    #[allow(clippy::too_many_arguments)]
    fn plan_stats(
        &self,
        plan: &Self::Mat,
        cost: &Self::Mat,
        f: &Self::Vec,
        g: &Self::Vec,
        a: &Self::Vec,
        b: &Self::Vec,
    ) -> Result<Vec<PlanStats>>;

    /// The Gibbs kernel `K = exp(−C / eps)` for kernel-space (scaling) iterations.
    fn gibbs(&self, cost: &Self::Mat, eps: f64) -> Result<Self::Mat>;

    /// Scaling update: for `Rows`, `out_i = 1 / Σ_j K_ij w_j x_j` (zero where `own_w_i = 0`);
    /// `Cols` likewise with `Kᵀ`.
    fn scaling(
        &self,
        kernel: &Self::Mat,
        side: Side,
        x: &Self::Vec,
        w: &Self::Vec,
        own_w: &Self::Vec,
    ) -> Result<Self::Vec>;

    /// Fixed-point residual of scalings: `Σ_i w_i |old_i / new_i − 1|`.
    fn scaling_residual(&self, w: &Self::Vec, old: &Self::Vec, new: &Self::Vec)
    -> Result<Vec<f64>>;

    /// Scalings to potentials, `eps · ln u` (zero where `w = 0`).
    fn scaling_to_potential(&self, u: &Self::Vec, w: &Self::Vec, eps: f64) -> Result<Self::Vec>;

    /// Potentials to scalings, `exp(f / eps)`.
    fn potential_to_scaling(&self, f: &Self::Vec, eps: f64) -> Result<Self::Vec>;
}
