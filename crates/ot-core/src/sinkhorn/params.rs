//! Solver parameters: a consuming builder, validated by [`Sinkhorn::check`] before any work.

use crate::{Error, Result};

/// Which Sinkhorn iteration to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// Log-domain updates of the dual potentials `f`, `g` (stable for any `eps`). Default.
    #[default]
    Log,
    /// Kernel-space (scaling) updates `u = 1 / K (b ⊙ v)` with `K = exp(−C / eps)`: one
    /// matrix-vector product per half-step, but `K` underflows for small `eps / C` (reported as
    /// [`crate::Status::Diverged`], never a silent zero plan).
    Kernel,
}

/// Entropic regularisation annealing: solve with `eps · factor^(stages−1)`, …, `eps · factor`,
/// then `eps`, each stage warm-started from the previous potentials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpsScaling {
    /// Number of stages, the last one at the target `eps` (≥ 1).
    pub stages: usize,
    /// Ratio between consecutive stages (> 1).
    pub factor: f64,
}

/// Parameters of entropic optimal transport, solved by [`Sinkhorn::solve`].
///
/// `eps` is POT's `reg`; the objective is `<P, C> + eps · KL(P ‖ a ⊗ b)` (see
/// [`SinkhornOutput::objective`](crate::SinkhornOutput::objective)).
#[derive(Clone, Debug, PartialEq)]
pub struct Sinkhorn {
    pub(crate) eps: f64,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) check_every: usize,
    pub(crate) method: Method,
    pub(crate) eps_scaling: Option<EpsScaling>,
    pub(crate) reg_m: Option<f64>,
}

impl Sinkhorn {
    /// Defaults: `max_iter = 1000`, `tol = 1e-6`, `check_every = 10`, log domain, balanced.
    pub fn new(eps: f64) -> Self {
        Self {
            eps,
            max_iter: 1000,
            tol: 1e-6,
            check_every: 10,
            method: Method::Log,
            eps_scaling: None,
            reg_m: None,
        }
    }

    /// Entropic regularisation (POT's `reg`), `> 0`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Maximal number of iterations (one iteration = an `f` and a `g` update).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Tolerance on the marginal violation `‖P 1 − a‖₁` (balanced) or on the fixed-point
    /// residual (unbalanced).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Test convergence every `k` iterations (each test reads one scalar per problem back).
    pub fn check_every(mut self, k: usize) -> Self {
        self.check_every = k;
        self
    }

    /// Log-domain or kernel-space iterations.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Anneal `eps` in `stages` stages, each `factor` times smaller than the last.
    pub fn eps_scaling(mut self, stages: usize, factor: f64) -> Self {
        self.eps_scaling = Some(EpsScaling { stages, factor });
        self
    }

    /// Unbalanced OT: replace the marginal constraints by `reg_m · KL(P 1 ‖ a)` and
    /// `reg_m · KL(Pᵀ 1 ‖ b)` (POT's `reg_m`, OTT's `tau = reg_m / (reg_m + eps)`).
    pub fn reg_m(mut self, reg_m: f64) -> Self {
        self.reg_m = Some(reg_m);
        self
    }

    /// The regularisation.
    pub fn get_eps(&self) -> f64 {
        self.eps
    }

    /// Validates every parameter; called by the solvers before any work.
    pub fn check(&self) -> Result<()> {
        let bad = |name, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                reason: reason.into(),
            })
        };
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", &format!("must be finite and > 0, got {}", self.eps));
        }
        if self.max_iter == 0 {
            return bad("max_iter", "must be ≥ 1");
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return bad("tol", &format!("must be finite and > 0, got {}", self.tol));
        }
        if self.check_every == 0 {
            return bad("check_every", "must be ≥ 1");
        }
        if let Some(s) = self.eps_scaling {
            if s.stages == 0 {
                return bad("eps_scaling", "stages must be ≥ 1");
            }
            if !(s.factor.is_finite() && s.factor > 1.0) {
                return bad(
                    "eps_scaling",
                    &format!("factor must be > 1, got {}", s.factor),
                );
            }
        }
        if let Some(r) = self.reg_m
            && !(r.is_finite() && r > 0.0)
        {
            return bad("reg_m", &format!("must be finite and > 0, got {r}"));
        }
        Ok(())
    }
}
