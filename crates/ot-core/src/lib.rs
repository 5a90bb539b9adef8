//! Entropic optimal transport over `ndarray` and libtorch: batched with masks, log-domain by
//! default, with convergence reporting and (on tch) selectable gradients.
//!
//! One Sinkhorn loop, parameter check, convergence test and output type are written once over
//! a small [`Backend`] trait of fused kernels; [`NdArray<f32>`](NdArray) / `NdArray<f64>` are
//! always built (rayon for large problems), [`Tch`] runs on libtorch tensors (CPU or CUDA) under
//! the `tch` feature. A batch of `B` problems is padded to `[B, m_max, n_max]`; zero weights in
//! `a` / `b` mask rows and columns, which then receive exactly zero mass. Every problem gets its
//! own [`Status`]; not converging is reported, never a silent zero or NaN plan, and non-finite
//! input is an [`Error`] naming the argument and index.
//!
//! ```
//! use ot_core::ndarray::{array, Array2, Array3};
//! use ot_core::{NdArray, Sinkhorn, Status};
//!
//! // Two problems in one batch; the second has 2 × 2 points padded to 3 × 2.
//! let cost: Array3<f64> = array![
//!     [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]],
//!     [[0.0, 2.0], [2.0, 0.0], [9.0, 9.0]],
//! ];
//! let a: Array2<f64> = array![[0.5, 0.3, 0.2], [0.5, 0.5, 0.0]];
//! let b: Array2<f64> = array![[0.6, 0.4], [0.5, 0.5]];
//! let out = Sinkhorn::new(0.05).tol(1e-9).solve(&NdArray::<f64>::new(), &cost, &a, &b)?;
//! assert!(out.status.iter().all(|s| *s == Status::Converged));
//! assert!(out.marginal_error.iter().all(|&e| e < 1e-8));
//! assert_eq!(out.plan[[1, 2, 0]], 0.0); // the padded row carries exactly no mass
//! assert!(out.transport_cost[1] < 1e-6); // the diagonal is free
//! # Ok::<(), ot_core::Error>(())
//! ```
//!
//! On tch, the OPTICAL training loop calls [`tch_ot::sinkhorn_loss`] (feature `tch`) with a
//! `[B, m, n]` cost that requires grad and gets a differentiable plan and loss.
//!
//! | feature      | default | what it adds                                                  |
//! |--------------|---------|---------------------------------------------------------------|
//! | `tch`        | no      | the [`Tch`] backend (CPU/CUDA) and gradient modes ([`tch_ot`]) |
//! | `cuda-tests` | no      | GPU conformance tests (needs a CUDA machine)                  |
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod backend;
pub mod cost;
mod error;
pub mod exact;
pub mod sinkhorn;
#[cfg(feature = "tch")]
pub mod tch_ot;

#[cfg(feature = "tch")]
pub use backend::Tch;
pub use backend::{Backend, Float, NdArray, PlanStats, Side};
pub use cost::{CostKind, PairwiseCost};
pub use error::{Error, Result};
pub use exact::{EmdOutput, emd};
pub use ndarray;
pub use sinkhorn::{
    EpsScaling, Method, Potentials, Sinkhorn, SinkhornOutput, Status, sinkhorn_divergence,
};
#[cfg(feature = "tch")]
pub use tch;
