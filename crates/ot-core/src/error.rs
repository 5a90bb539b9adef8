//! The error type of this crate.

/// Everything that can go wrong in this crate.
///
/// Not converging is *not* an error: it is reported as [`crate::Status::MaxIterReached`] or
/// [`crate::Status::Diverged`] in the solver output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A solver parameter is out of its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter name, as in the builder.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The shapes of the cost and the marginals do not agree.
    #[error(
        "shape mismatch: cost is {cost:?} (batch, m, n) but `a` is {a:?} and `b` is {b:?} (batch, len)"
    )]
    ShapeMismatch {
        /// Shape of the cost, `(batch, m, n)`.
        cost: (usize, usize, usize),
        /// Shape of `a`, `(batch, m)`.
        a: (usize, usize),
        /// Shape of `b`, `(batch, n)`.
        b: (usize, usize),
    },
    /// An input has the wrong number of dimensions or an empty axis.
    #[error("argument `{argument}` has shape {shape:?}; expected {expected}")]
    BadShape {
        /// The argument name (`cost`, `a`, `b`, `x`, `y`, ...).
        argument: &'static str,
        /// Its shape.
        shape: Vec<usize>,
        /// What was expected.
        expected: &'static str,
    },
    /// An input holds a NaN or an infinity.
    #[error("argument `{argument}` is not finite at index {index:?} (value {value})")]
    NonFinite {
        /// The argument name.
        argument: &'static str,
        /// The multi-index of the first offending entry.
        index: Vec<usize>,
        /// The offending value.
        value: f64,
    },
    /// A marginal has a negative entry.
    #[error("argument `{argument}` is negative at index {index:?} (value {value})")]
    Negative {
        /// The argument name.
        argument: &'static str,
        /// The multi-index of the first offending entry.
        index: Vec<usize>,
        /// The offending value.
        value: f64,
    },
    /// A problem of the batch has a marginal with no mass at all.
    #[error("argument `{argument}` of problem {problem} has no positive mass")]
    EmptyMarginal {
        /// The argument name (`a` or `b`).
        argument: &'static str,
        /// The index of the problem in the batch.
        problem: usize,
    },
    /// Balanced OT needs marginals of equal mass.
    #[error("problem {problem}: `a` has mass {mass_a} but `b` has mass {mass_b} (balanced OT)")]
    MassMismatch {
        /// The index of the problem in the batch.
        problem: usize,
        /// Total mass of `a`.
        mass_a: f64,
        /// Total mass of `b`.
        mass_b: f64,
    },
    /// The exact solver met an infeasible or degenerate problem it cannot handle.
    #[error("exact OT failed: {reason}")]
    Exact {
        /// What went wrong.
        reason: &'static str,
    },
    /// An error raised by libtorch.
    #[cfg(feature = "tch")]
    #[error("libtorch: {0}")]
    Tch(#[from] tch::TchError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
