//! Differentiable, batched, masked Sinkhorn on libtorch tensors: the entry point of the OPTICAL
//! training loop.
//!
//! ```no_run
//! use ot_core::tch::{Device, Kind, Tensor};
//! use ot_core::tch_ot::{Gradient, sinkhorn_loss};
//! use ot_core::Sinkhorn;
//!
//! # fn main() -> ot_core::Result<()> {
//! // Two sentence pairs padded to 4 × 3 tokens: lengths (4, 3) and (2, 3).
//! let cost = Tensor::rand([2, 4, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
//! let a = Tensor::from_slice(&[0.25f32, 0.25, 0.25, 0.25, 0.5, 0.5, 0.0, 0.0]).view([2, 4]);
//! let b = Tensor::from_slice(&[1.0f32 / 3.0; 6]).view([2, 3]);
//! let out = sinkhorn_loss(&Sinkhorn::new(0.05).max_iter(200).tol(1e-4), &cost, &a, &b,
//!                         Gradient::Implicit)?;
//! out.loss.sum(Kind::Float).backward(); // d<P*(C), C>/dC lands in cost.grad()
//! # Ok(()) }
//! ```

use tch::{Kind, Tensor};

use crate::backend::{Backend, Tch, tch::host};
use crate::{Error, Result, Sinkhorn, SinkhornOutput, Status};

/// How gradients flow from the returned plan and loss back to the cost (and marginals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gradient {
    /// The plan is a constant: `loss = <P, C(θ)>`, `∂loss/∂C = P`. Cheapest; the usual choice
    /// for OT-distillation losses.
    #[default]
    Detach,
    /// `loss` is the regularised objective `OT_eps(a, b, C)`, with its exact gradient from the
    /// envelope theorem: `∂/∂C = P`, `∂/∂a = f`, `∂/∂b = g` (balanced). The returned plan is a
    /// constant.
    Envelope,
    /// Autograd through every iteration: `loss = <P(C), C>` with `P` differentiable. Memory
    /// grows with the number of iterations.
    Unrolled,
    /// Implicit differentiation of the fixed point: `P` is differentiable in `C` through a
    /// surrogate whose backward solves the linearised optimality system (one batched
    /// `(m + n)²` solve), so memory does not grow with iterations. `loss = <P(C), C>`. Balanced
    /// problems only; gradients reach `C`, not `a`/`b`.
    Implicit,
}

/// What [`sinkhorn_loss`] returns.
pub struct TchOutput {
    /// The plan `[B, m, n]`; differentiable in `C` for `Unrolled` and `Implicit`.
    pub plan: Tensor,
    /// Per-problem loss `[B]`: `<P, C>` (`Detach`, `Unrolled`, `Implicit`) or `OT_eps`
    /// (`Envelope`), with the gradient of the chosen mode.
    pub loss: Tensor,
    /// Row potential `[B, m]` (detached).
    pub f: Tensor,
    /// Column potential `[B, n]` (detached).
    pub g: Tensor,
    /// Host copies of the per-problem diagnostics of the solve.
    pub status: Vec<Status>,
    /// Iterations per problem.
    pub iterations: Vec<usize>,
    /// `‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁` per problem.
    pub marginal_error: Vec<f64>,
    /// `<P, C>` per problem.
    pub transport_cost: Vec<f64>,
    /// `OT_eps` per problem.
    pub objective: Vec<f64>,
}

fn finish(out: SinkhornOutput<Tch>, plan: Tensor, loss: Tensor) -> Result<TchOutput> {
    Ok(TchOutput {
        plan,
        loss,
        f: out.f.f_detach()?,
        g: out.g.f_detach()?,
        status: out.status,
        iterations: out.iterations,
        marginal_error: out.marginal_error,
        transport_cost: out.transport_cost,
        objective: out.objective,
    })
}

fn sum12(t: &Tensor) -> Result<Tensor> {
    Ok(t.f_sum_dim_intlist(&[1i64, 2][..], false, None::<Kind>)?)
}

/// Solves a batch of entropic OT problems on tensors and returns a plan and loss whose gradients
/// follow `grad`.
///
/// `cost` is `[B, m, n]` (may require grad), `a` is `[B, m]`, `b` is `[B, n]`, all on one device
/// and of one floating kind; zero weights mask padding (those rows/columns get zero mass).
/// Convergence is reported per problem in [`TchOutput::status`].
pub fn sinkhorn_loss(
    solver: &Sinkhorn,
    cost: &Tensor,
    a: &Tensor,
    b: &Tensor,
    grad: Gradient,
) -> Result<TchOutput> {
    let backend = Tch::new(cost.device(), cost.kind());
    match grad {
        Gradient::Unrolled => {
            let out = solver.solve(&backend, cost, a, b)?;
            let plan = out.plan.shallow_clone();
            let loss = sum12(&plan.f_mul(cost)?)?;
            finish(out, plan, loss)
        }
        Gradient::Detach => {
            let out = tch::no_grad(|| solver.solve(&backend, &cost.detach(), a, b))?;
            let plan = out.plan.f_detach()?;
            let loss = sum12(&plan.f_mul(cost)?)?;
            finish(out, plan, loss)
        }
        Gradient::Envelope => {
            let out = tch::no_grad(|| solver.solve(&backend, &cost.detach(), a, b))?;
            let plan = out.plan.f_detach()?;
            let value = Tensor::f_from_slice(&out.objective)?
                .f_to_kind(cost.kind())?
                .f_to_device(cost.device())?;
            let dc = cost.f_sub(&cost.f_detach()?)?;
            let mut loss = value.f_add(&sum12(&plan.f_mul(&dc)?)?)?;
            if solver.reg_m.is_none() {
                for (w, pot) in [(a, &out.f), (b, &out.g)] {
                    let dw = w.f_sub(&w.f_detach()?)?;
                    loss = loss.f_add(&dw.f_mul(&pot.f_detach()?)?.f_sum_dim_intlist(
                        &[1i64][..],
                        false,
                        None::<Kind>,
                    )?)?;
                }
            }
            finish(out, plan, loss)
        }
        Gradient::Implicit => {
            if solver.reg_m.is_some() {
                return Err(Error::InvalidParameter {
                    name: "grad",
                    reason: "Implicit gradients are implemented for balanced OT only".into(),
                });
            }
            let out = tch::no_grad(|| solver.solve(&backend, &cost.detach(), a, b))?;
            let plan = implicit_surrogate(&out.plan.f_detach()?, cost, a, b, solver.eps)?;
            let loss = sum12(&plan.f_mul(cost)?)?;
            finish(out, plan, loss)
        }
    }
}

/// `P* + dP(δ)` with `δ = C − stop_grad(C)`: equal to `P*` in value, and its backward is the
/// vector–Jacobian product of the fixed point `P*(C)` (implicit-function theorem).
///
/// Linearising `P_ij = a_i b_j exp((f_i + g_j − C_ij)/eps)` at the fixed point and keeping the
/// marginals fixed gives `dP_ij = P_ij (df_i + dg_j − δ_ij)/eps` with
/// `[diag(r) P; Pᵀ diag(c)] [df; dg] = [Σ_j P_ij δ_ij; Σ_i P_ij δ_ij]`. The system is singular
/// along `(1, −1)` (the potentials' gauge); adding `u uᵀ` for that unit direction makes it
/// invertible without changing `dP`. Masked entries get an identity row.
fn implicit_surrogate(
    p: &Tensor,
    cost: &Tensor,
    a: &Tensor,
    b: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let m = p.size()[1];
    let delta = cost.f_sub(&cost.f_detach()?)?;
    let r = p.f_sum_dim_intlist(&[2i64][..], false, None::<Kind>)?;
    let c = p.f_sum_dim_intlist(&[1i64][..], false, None::<Kind>)?;
    let kind = p.kind();
    let va = a.f_gt(0.0)?.f_to_kind(kind)?;
    let vb = b.f_gt(0.0)?.f_to_kind(kind)?;
    let diag = Tensor::f_cat(
        &[
            r.f_add(&va.f_neg()?.f_add_scalar(1.0)?)?,
            c.f_add(&vb.f_neg()?.f_add_scalar(1.0)?)?,
        ],
        1,
    )?;
    let top = Tensor::f_cat(&[&diag.f_narrow(1, 0, m)?.f_diag_embed(0, -2, -1)?, p], 2)?;
    let bottom = Tensor::f_cat(
        &[
            &p.f_transpose(1, 2)?,
            &diag
                .f_narrow(1, m, diag.size()[1] - m)?
                .f_diag_embed(0, -2, -1)?,
        ],
        2,
    )?;
    let h = Tensor::f_cat(&[top, bottom], 1)?;
    let u = Tensor::f_cat(&[va.shallow_clone(), vb.f_neg()?], 1)?;
    let count = va
        .f_sum_dim_intlist(&[1i64][..], true, None::<Kind>)?
        .f_add(&vb.f_sum_dim_intlist(&[1i64][..], true, None::<Kind>)?)?;
    let u = u.f_div(&count.f_sqrt()?)?;
    let h = h.f_add(&u.f_unsqueeze(2)?.f_mul(&u.f_unsqueeze(1)?)?)?;
    let pd = p.f_mul(&delta)?;
    let rhs = Tensor::f_cat(
        &[
            pd.f_sum_dim_intlist(&[2i64][..], false, None::<Kind>)?,
            pd.f_sum_dim_intlist(&[1i64][..], false, None::<Kind>)?,
        ],
        1,
    )?;
    let sol = Tensor::f_linalg_solve(&h, &rhs.f_unsqueeze(2)?, true)?.f_squeeze_dim(2)?;
    let df = sol.f_narrow(1, 0, m)?.f_unsqueeze(2)?;
    let dg = sol.f_narrow(1, m, sol.size()[1] - m)?.f_unsqueeze(1)?;
    let dp = p.f_mul(&df.f_add(&dg)?.f_sub(&delta)?)?.f_div_scalar(eps)?;
    Ok(p.f_add(&dp)?)
}

/// Host copy of a tensor's values as `f64` (row-major), for reports and tests.
pub fn to_host(t: &Tensor) -> Result<Vec<f64>> {
    host(t)
}

impl Tch {
    /// Reads a per-problem vector back; used by the loss wrappers.
    pub fn host_vec(&self, t: &<Self as Backend>::Vec) -> Result<Vec<f64>> {
        host(t)
    }
}
