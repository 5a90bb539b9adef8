//! The Sinkhorn loop, written once over [`Backend`].

use super::params::{Method, Sinkhorn};
use crate::backend::{Backend, Side};
use crate::{Error, Result};

/// Outcome of one problem of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The marginal violation fell below `tol` at a convergence check.
    Converged,
    /// `max_iter` iterations ran without reaching `tol`; the plan is the last iterate.
    MaxIterReached,
    /// The iterates became non-finite (kernel-space underflow); the plan is meaningless.
    Diverged,
}

impl Status {
    /// `"converged"`, `"max_iter_reached"` or `"diverged"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Converged => "converged",
            Self::MaxIterReached => "max_iter_reached",
            Self::Diverged => "diverged",
        }
    }
}

/// Dual potentials to warm-start a solve (e.g. from a previous, nearby problem).
pub struct Potentials<B: Backend> {
    /// Row potential, `[batch, m]`.
    pub f: B::Vec,
    /// Column potential, `[batch, n]`.
    pub g: B::Vec,
}

/// Everything a solve returns. Per-problem values are indexed by the batch position.
pub struct SinkhornOutput<B: Backend> {
    /// The plan `P = diag(a e^{f/eps}) e^{−C/eps} diag(b e^{g/eps})`, `[batch, m, n]`; exactly zero
    /// on masked (zero-weight) rows and columns.
    pub plan: B::Mat,
    /// Row dual potential, `[batch, m]` (zero on masked rows).
    pub f: B::Vec,
    /// Column dual potential, `[batch, n]` (zero on masked columns).
    pub g: B::Vec,
    /// `<P, C>` per problem.
    pub transport_cost: Vec<f64>,
    /// The regularised objective `<P, C> + eps · KL(P ‖ a ⊗ b)` (plus
    /// `reg_m · (KL(P1 ‖ a) + KL(Pᵀ1 ‖ b))` when unbalanced), evaluated at the returned plan.
    /// Its gradient in `C` is `P` (envelope theorem).
    pub objective: Vec<f64>,
    /// `‖P 1 − a‖₁ + ‖Pᵀ 1 − b‖₁` of the returned plan.
    pub marginal_error: Vec<f64>,
    /// Iterations until convergence (or all that ran), per problem, summed over eps stages.
    pub iterations: Vec<usize>,
    /// Outcome per problem.
    pub status: Vec<Status>,
    /// The convergence-test values per problem, one per check.
    pub error_history: Vec<Vec<f64>>,
}

impl<B: Backend> SinkhornOutput<B> {
    /// Whether every problem of the batch converged.
    pub fn converged(&self) -> bool {
        self.status.iter().all(|s| *s == Status::Converged)
    }
}

/// Shapes and values checked before any iteration; returns `(batch, m, n)`.
pub(crate) fn validate<B: Backend>(
    backend: &B,
    cost: &B::Mat,
    a: &B::Vec,
    b: &B::Vec,
    balanced: bool,
) -> Result<(usize, usize, usize)> {
    let cs = backend.mat_shape(cost)?;
    if cs.len() != 3 || cs.contains(&0) {
        return Err(Error::BadShape {
            argument: "cost",
            shape: cs,
            expected: "[batch, m, n] with no empty axis",
        });
    }
    let (batch, m, n) = (cs[0], cs[1], cs[2]);
    let (sa, sb) = (backend.vec_shape(a)?, backend.vec_shape(b)?);
    if sa.len() != 2 || sb.len() != 2 || sa != [batch, m] || sb != [batch, n] {
        let two = |s: &[usize]| {
            (
                s.first().copied().unwrap_or(0),
                s.get(1).copied().unwrap_or(0),
            )
        };
        return Err(Error::ShapeMismatch {
            cost: (batch, m, n),
            a: two(&sa),
            b: two(&sb),
        });
    }
    if let Some((index, value)) = backend.find_non_finite(cost)? {
        return Err(Error::NonFinite {
            argument: "cost",
            index: index.to_vec(),
            value,
        });
    }
    let mut masses = Vec::with_capacity(2);
    for (argument, w) in [("a", a), ("b", b)] {
        let check = backend.check_weights(w)?;
        if let Some((index, value)) = check.non_finite {
            return Err(Error::NonFinite {
                argument,
                index: index.to_vec(),
                value,
            });
        }
        if let Some((index, value)) = check.negative {
            return Err(Error::Negative {
                argument,
                index: index.to_vec(),
                value,
            });
        }
        if let Some(problem) = check.mass.iter().position(|&x| x <= 0.0) {
            return Err(Error::EmptyMarginal { argument, problem });
        }
        masses.push(check.mass);
    }
    if balanced {
        for (problem, (&mass_a, &mass_b)) in masses[0].iter().zip(&masses[1]).enumerate() {
            if (mass_a - mass_b).abs() > 1e-4 * mass_a.max(mass_b) {
                return Err(Error::MassMismatch {
                    problem,
                    mass_a,
                    mass_b,
                });
            }
        }
    }
    Ok((batch, m, n))
}

/// Per-problem bookkeeping of convergence across checks and eps stages.
struct Tracker {
    status: Vec<Option<crate::Status>>,
    iterations: Vec<usize>,
    history: Vec<Vec<f64>>,
}

impl Tracker {
    fn new(batch: usize) -> Self {
        Self {
            status: vec![None; batch],
            iterations: vec![0; batch],
            history: vec![vec![]; batch],
        }
    }

    /// Records a check at the final stage; returns whether every problem is settled.
    fn record(&mut self, res: &[f64], tol: f64, total_iter: usize, final_stage: bool) -> bool {
        let mut settled = true;
        for (k, &r) in res.iter().enumerate() {
            self.history[k].push(r);
            if !r.is_finite() {
                self.status[k] = Some(Status::Diverged);
                self.iterations[k] = total_iter;
            } else if r <= tol {
                if final_stage && self.status[k].is_none() {
                    self.status[k] = Some(Status::Converged);
                    self.iterations[k] = total_iter;
                }
            } else {
                settled = false;
                if final_stage && self.status[k] == Some(Status::Converged) {
                    // Regressed (f32 round-off): keep iterating it.
                    self.status[k] = None;
                }
            }
        }
        settled || self.status.iter().all(|s| s.is_some())
    }
}

impl Sinkhorn {
    /// Solves a batch of problems: `cost` is `[batch, m, n]`, `a` is `[batch, m]`, `b` is
    /// `[batch, n]`; zero weights mask rows and columns (padding).
    pub fn solve<B: Backend>(
        &self,
        backend: &B,
        cost: &B::Mat,
        a: &B::Vec,
        b: &B::Vec,
    ) -> Result<SinkhornOutput<B>> {
        self.solve_from(backend, cost, a, b, None)
    }

    /// [`Sinkhorn::solve`], warm-started from dual potentials when `init` is given.
    pub fn solve_from<B: Backend>(
        &self,
        backend: &B,
        cost: &B::Mat,
        a: &B::Vec,
        b: &B::Vec,
        init: Option<Potentials<B>>,
    ) -> Result<SinkhornOutput<B>> {
        self.check()?;
        if self.method == Method::Kernel && self.reg_m.is_some() {
            return Err(Error::InvalidParameter {
                name: "method",
                reason: "unbalanced OT (reg_m) is solved in the log domain only".into(),
            });
        }
        let (batch, _, _) = validate(backend, cost, a, b, self.reg_m.is_none())?;
        if let Some(p) = &init {
            let (sf, sg) = (backend.vec_shape(&p.f)?, backend.vec_shape(&p.g)?);
            if sf != backend.vec_shape(a)? || sg != backend.vec_shape(b)? {
                return Err(Error::BadShape {
                    argument: "init",
                    shape: [sf, sg].concat(),
                    expected: "potentials shaped like `a` and `b`",
                });
            }
        }
        let log_a = backend.log_weights(a)?;
        let log_b = backend.log_weights(b)?;
        let (mut f, mut g) = match init {
            Some(p) => (p.f, p.g),
            None => (backend.zeros_like(a)?, backend.zeros_like(b)?),
        };
        let stages: Vec<f64> = match self.eps_scaling {
            Some(s) => (0..s.stages)
                .rev()
                .map(|k| self.eps * s.factor.powi(k as i32))
                .collect(),
            None => vec![self.eps],
        };
        let mut tracker = Tracker::new(batch);
        let mut total = 0;
        for (stage, &eps) in stages.iter().enumerate() {
            let final_stage = stage + 1 == stages.len();
            let budget = if final_stage {
                self.max_iter.saturating_sub(total).max(1)
            } else {
                (self.max_iter / stages.len()).max(1)
            };
            if !final_stage {
                tracker.status.iter_mut().for_each(|s| *s = None);
            }
            (f, g) = match self.method {
                Method::Log => self.run_log(
                    backend,
                    cost,
                    a,
                    &log_a,
                    &log_b,
                    f,
                    g,
                    eps,
                    budget,
                    &mut total,
                    &mut tracker,
                    final_stage,
                )?,
                Method::Kernel => self.run_kernel(
                    backend,
                    cost,
                    a,
                    b,
                    f,
                    g,
                    eps,
                    budget,
                    &mut total,
                    &mut tracker,
                    final_stage,
                )?,
            };
        }
        let plan = backend.plan(cost, &f, &g, &log_a, &log_b, self.eps)?;
        let stats = backend.plan_stats(&plan, cost, &f, &g, a, b)?;
        let mass_a = backend.check_weights(a)?.mass;
        let mass_b = backend.check_weights(b)?.mass;
        let objective = stats
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let kl = s.potential_term
                    - s.transport_cost
                    - self.eps * (s.mass - mass_a[k] * mass_b[k]);
                let marg = self.reg_m.map_or(0.0, |r| r * s.marginal_kl);
                s.transport_cost + kl + marg
            })
            .collect();
        let status = tracker
            .status
            .iter()
            .map(|s| s.unwrap_or(Status::MaxIterReached))
            .collect::<Vec<_>>();
        let iterations = status
            .iter()
            .zip(&tracker.iterations)
            .map(|(s, &it)| {
                if *s == Status::MaxIterReached {
                    total
                } else {
                    it
                }
            })
            .collect();
        Ok(SinkhornOutput {
            plan,
            f,
            g,
            transport_cost: stats.iter().map(|s| s.transport_cost).collect(),
            objective,
            marginal_error: stats.iter().map(|s| s.marginal_error).collect(),
            iterations,
            status,
            error_history: tracker.history,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn run_log<B: Backend>(
        &self,
        backend: &B,
        cost: &B::Mat,
        a: &B::Vec,
        log_a: &B::Vec,
        log_b: &B::Vec,
        mut f: B::Vec,
        mut g: B::Vec,
        eps: f64,
        budget: usize,
        total: &mut usize,
        tracker: &mut Tracker,
        final_stage: bool,
    ) -> Result<(B::Vec, B::Vec)> {
        let scale = self.reg_m.map_or(1.0, |r| r / (r + eps));
        for it in 0..budget {
            g = backend.softmin(cost, Side::Cols, &f, log_a, log_b, eps, scale)?;
            let f_new = backend.softmin(cost, Side::Rows, &g, log_b, log_a, eps, scale)?;
            *total += 1;
            let check = (it + 1) % self.check_every == 0 || it + 1 == budget;
            let done = check && {
                let res = backend.residual(a, &f, &f_new, eps)?;
                tracker.record(&res, self.tol, *total, final_stage)
            };
            f = f_new;
            if done {
                break;
            }
        }
        Ok((f, g))
    }

    #[allow(clippy::too_many_arguments)]
    fn run_kernel<B: Backend>(
        &self,
        backend: &B,
        cost: &B::Mat,
        a: &B::Vec,
        b: &B::Vec,
        f: B::Vec,
        g: B::Vec,
        eps: f64,
        budget: usize,
        total: &mut usize,
        tracker: &mut Tracker,
        final_stage: bool,
    ) -> Result<(B::Vec, B::Vec)> {
        let kernel = backend.gibbs(cost, eps)?;
        let mut u = backend.potential_to_scaling(&f, eps)?;
        let mut v = backend.potential_to_scaling(&g, eps)?;
        for it in 0..budget {
            v = backend.scaling(&kernel, Side::Cols, &u, a, b)?;
            let u_new = backend.scaling(&kernel, Side::Rows, &v, b, a)?;
            *total += 1;
            let check = (it + 1) % self.check_every == 0 || it + 1 == budget;
            let done = check && {
                let res = backend.scaling_residual(a, &u, &u_new)?;
                tracker.record(&res, self.tol, *total, final_stage)
            };
            u = u_new;
            if done {
                break;
            }
        }
        Ok((
            backend.scaling_to_potential(&u, a, eps)?,
            backend.scaling_to_potential(&v, b, eps)?,
        ))
    }
}

/// The debiased Sinkhorn divergence
/// `S_eps(a, b) = OT_eps(a, b) − ½ OT_eps(a, a) − ½ OT_eps(b, b)` per problem, from the three
/// costs `C(x, y)`, `C(x, x)` and `C(y, y)` (see [`crate::cost`]). Non-negative, zero when the
/// measures coincide.
pub fn sinkhorn_divergence<B: Backend>(
    solver: &Sinkhorn,
    backend: &B,
    cost_xy: &B::Mat,
    cost_xx: &B::Mat,
    cost_yy: &B::Mat,
    a: &B::Vec,
    b: &B::Vec,
) -> Result<Vec<f64>> {
    let xy = solver.solve(backend, cost_xy, a, b)?;
    let xx = solver.solve(backend, cost_xx, a, a)?;
    let yy = solver.solve(backend, cost_yy, b, b)?;
    Ok((0..xy.objective.len())
        .map(|k| xy.objective[k] - 0.5 * (xx.objective[k] + yy.objective[k]))
        .collect())
}
