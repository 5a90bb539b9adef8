//! Paired significance tests over per-query scores, multiple-testing corrections and effect
//! size. Every test takes two equally long slices `a` (baseline) and `b` (system) of per-query
//! values and tests the differences `d = b - a`, two-sided.
//!
//! | function | matches | variant |
//! |---|---|---|
//! | [`paired_t`] | `scipy.stats.ttest_rel(b, a)` | Student t on `d`, `n - 1` degrees of freedom |
//! | [`wilcoxon`] | `scipy.stats.wilcoxon(b, a)` (scipy 1.17 defaults) | see below |
//! | [`randomization`] | `scipy.stats.permutation_test((d,), mean, permutation_type="samples")` | sign flips |
//! | [`bootstrap`] | (seeded; checked against analytic expectations) | percentile interval |
//! | [`holm`], [`bonferroni`] | `statsmodels` `multipletests` | adjusted p-values |
//! | [`cohens_d`] | `mean(d) / std(d, ddof=1)` | Cohen's d_z for paired data |
//!
//! Wilcoxon follows scipy's defaults exactly: `zero_method="wilcox"` (zero differences are
//! dropped from the ranks), `correction=False`, `method="auto"`: with more than 50 pairs the
//! normal approximation with tie correction; otherwise the exact null distribution when there
//! are neither ties nor zeros; otherwise, with at most 13 pairs, the exact sign-flip
//! permutation distribution of the rank statistic; otherwise the normal approximation. The
//! reported statistic is `min(R+, R-)`.

mod tests_impl;

pub use tests_impl::{
    BootstrapOutput, TestOutput, bonferroni, bootstrap, cohens_d, holm, paired_t, percentile,
    randomization, wilcoxon,
};
