//! The test implementations (see the module docs of [`crate::stats`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::{Error, Result};

/// The outcome of a two-sided paired test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestOutput {
    /// The test statistic (t, `min(R+, R-)`, or the mean difference for randomization).
    pub statistic: f64,
    /// Two-sided p-value (NaN where scipy gives NaN, e.g. a t-test on constant differences).
    pub p_value: f64,
}

/// The outcome of a paired bootstrap of the mean difference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapOutput {
    /// Observed mean difference `mean(b - a)`.
    pub mean_diff: f64,
    /// Lower end of the percentile confidence interval.
    pub ci_low: f64,
    /// Upper end of the percentile confidence interval.
    pub ci_high: f64,
    /// Two-sided p-value: `(1 + #{|m* - m| >= |m|}) / (B + 1)` over bootstrap means `m*`
    /// (the shifted-null bootstrap test).
    pub p_value: f64,
}

fn diffs(a: &[f64], b: &[f64], min: usize) -> Result<Vec<f64>> {
    if a.len() != b.len() {
        return Err(Error::Paired {
            a: a.len(),
            b: b.len(),
            reason: "lengths differ",
        });
    }
    if a.len() < min {
        return Err(Error::Paired {
            a: a.len(),
            b: b.len(),
            reason: "too few pairs",
        });
    }
    Ok(a.iter().zip(b).map(|(x, y)| y - x).collect())
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn std_ddof1(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

/// Paired Student t-test of `b - a` (scipy's `ttest_rel(b, a)`).
pub fn paired_t(a: &[f64], b: &[f64]) -> Result<TestOutput> {
    let d = diffs(a, b, 2)?;
    let n = d.len() as f64;
    let t = mean(&d) / (std_ddof1(&d) / n.sqrt());
    if t.is_nan() {
        return Ok(TestOutput {
            statistic: f64::NAN,
            p_value: f64::NAN,
        });
    }
    let dist = StudentsT::new(0.0, 1.0, n - 1.0).expect("n >= 2 gives valid degrees of freedom");
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    Ok(TestOutput {
        statistic: t,
        p_value: p,
    })
}

/// Cohen's d for paired data (d_z): `mean(b - a) / std(b - a, ddof = 1)`.
pub fn cohens_d(a: &[f64], b: &[f64]) -> Result<f64> {
    let d = diffs(a, b, 2)?;
    Ok(mean(&d) / std_ddof1(&d))
}

/// Average ranks (1-based) of `x`, ties sharing the mean rank; also the tie-group sizes.
fn average_ranks(x: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut ranks = vec![0.0; x.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]].total_cmp(&x[idx[i]]).is_eq() {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    (ranks, ties)
}

/// `R+` of the non-zero differences.
fn r_plus(nonzero: &[f64], ranks: &[f64]) -> f64 {
    nonzero
        .iter()
        .zip(ranks)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum()
}

/// Wilcoxon signed-rank test of `b - a` with scipy's default behaviour (see the module docs).
pub fn wilcoxon(a: &[f64], b: &[f64]) -> Result<TestOutput> {
    let d = diffs(a, b, 1)?;
    let n_all = d.len();
    let nonzero: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let n_zero = n_all - nonzero.len();
    let abs: Vec<f64> = nonzero.iter().map(|x| x.abs()).collect();
    let (ranks, ties) = average_ranks(&abs);
    let rp = r_plus(&nonzero, &ranks);
    let count = nonzero.len() as f64;
    let total = count * (count + 1.0) / 2.0;
    let statistic = rp.min(total - rp);
    let has_ties = ties.iter().any(|&t| t > 1);
    let p = if n_all <= 50 && !has_ties && n_zero == 0 {
        exact_signed_rank_p(nonzero.len(), rp)
    } else if n_all <= 13 {
        permutation_signed_rank_p(&d)
    } else {
        let mn = count * (count + 1.0) * 0.25;
        let tie: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
        let se = ((count * (count + 1.0) * (2.0 * count + 1.0) - tie / 2.0) / 24.0).sqrt();
        let z = (rp - mn) / se;
        let normal = Normal::standard();
        if z.is_nan() {
            f64::NAN
        } else {
            (2.0 * normal.cdf(-z.abs())).min(1.0)
        }
    };
    Ok(TestOutput {
        statistic,
        p_value: p,
    })
}

/// Two-sided exact p-value of `R+ = rp` for `n` distinct ranks: `2 min(P(R >= rp), P(R <= rp))`.
fn exact_signed_rank_p(n: usize, rp: f64) -> f64 {
    let max = n * (n + 1) / 2;
    // counts[s] = number of subsets of {1..n} with sum s.
    let mut counts = vec![0f64; max + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            counts[s] += counts[s - k];
        }
    }
    let total = 2f64.powi(n as i32);
    let lo = rp.ceil() as usize;
    let hi = rp.floor() as usize;
    let cdf: f64 = counts[..=lo.min(max)].iter().sum::<f64>() / total;
    let sf: f64 = counts[hi.min(max + 1)..].iter().sum::<f64>() / total;
    (2.0 * cdf.min(sf)).clamp(0.0, 1.0)
}

/// scipy's exact permutation p-value of `R+` over all `2^n` sign flips of `d` (zeros included).
fn permutation_signed_rank_p(d: &[f64]) -> f64 {
    let nonzero: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let abs: Vec<f64> = nonzero.iter().map(|x| x.abs()).collect();
    let (ranks, _) = average_ranks(&abs);
    let observed = r_plus(&nonzero, &ranks);
    // Flipping a zero changes nothing but still counts as an arrangement.
    let n_zero = d.len() - nonzero.len();
    let weight = 2f64.powi(n_zero as i32);
    let m = nonzero.len();
    let null = (0u64..1 << m).map(|mask| {
        (0..m)
            .filter(|&i| mask >> i & 1 == 1)
            .map(|i| ranks[i])
            .sum::<f64>()
    });
    two_sided_exact(null, observed, weight, 2f64.powi(d.len() as i32))
}

/// scipy `permutation_test`'s two-sided p-value over an enumerated null distribution, each
/// value carrying `weight`; `total` = sum of weights.
fn two_sided_exact(null: impl Iterator<Item = f64>, observed: f64, weight: f64, total: f64) -> f64 {
    let gamma = (1e-14 * observed).abs();
    let (mut less, mut greater) = (0.0, 0.0);
    for v in null {
        if v <= observed + gamma {
            less += weight;
        }
        if v >= observed - gamma {
            greater += weight;
        }
    }
    (2.0 * (less / total).min(greater / total)).min(1.0)
}

/// Fisher's randomization (sign-flip permutation) test of the mean of `b - a`: exact over all
/// `2^n` sign vectors when `n <= 20`, else `resamples` random sign vectors drawn with `seed`
/// and scipy's `(k + 1) / (B + 1)` p-values.
pub fn randomization(a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Result<TestOutput> {
    let d = diffs(a, b, 1)?;
    let n = d.len();
    let observed = mean(&d);
    let p = if n <= 20 {
        let null = (0u64..1 << n).map(|mask| {
            d.iter()
                .enumerate()
                .map(|(i, &x)| if mask >> i & 1 == 1 { -x } else { x })
                .sum::<f64>()
                / n as f64
        });
        two_sided_exact(null, observed, 1.0, 2f64.powi(n as i32))
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let gamma = (1e-14 * observed).abs();
        let (mut less, mut greater) = (0usize, 0usize);
        for _ in 0..resamples {
            let v = d
                .iter()
                .map(|&x| if rng.random::<bool>() { -x } else { x })
                .sum::<f64>()
                / n as f64;
            less += usize::from(v <= observed + gamma);
            greater += usize::from(v >= observed - gamma);
        }
        let b = resamples as f64 + 1.0;
        (2.0 * ((less as f64 + 1.0) / b).min((greater as f64 + 1.0) / b)).min(1.0)
    };
    Ok(TestOutput {
        statistic: observed,
        p_value: p,
    })
}

/// The `q`-quantile (`q` in `[0, 1]`) of the ascending `sorted` values with linear
/// interpolation between order statistics, as `numpy.quantile` computes it by default; NaN for an
/// empty slice.
///
/// ```
/// use clir_metrics::stats::percentile;
/// let xs = [1.0, 2.0, 4.0, 8.0];
/// assert_eq!(percentile(&xs, 0.0), 1.0);
/// assert_eq!(percentile(&xs, 0.5), 3.0); // numpy.quantile([1, 2, 4, 8], 0.5)
/// assert!((percentile(&xs, 0.9) - 6.8).abs() < 1e-12);
/// ```
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
    let hi = (lo + 1).min(last);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// Paired bootstrap of the mean of `b - a`: `resamples` resamples of the queries with
/// replacement (seeded), a `1 - alpha` percentile interval (linear interpolation, numpy's
/// default) and the shifted-null p-value.
pub fn bootstrap(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    alpha: f64,
    seed: u64,
) -> Result<BootstrapOutput> {
    let d = diffs(a, b, 1)?;
    if resamples == 0 || !(0.0..1.0).contains(&alpha) {
        return Err(Error::InvalidArgument {
            name: "bootstrap".into(),
            reason: format!("need resamples > 0 and 0 <= alpha < 1, got {resamples}, {alpha}"),
        });
    }
    let n = d.len();
    let observed = mean(&d);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| d[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    let extreme = means
        .iter()
        .filter(|&&m| (m - observed).abs() >= observed.abs())
        .count();
    means.sort_by(f64::total_cmp);
    Ok(BootstrapOutput {
        mean_diff: observed,
        ci_low: percentile(&means, alpha / 2.0),
        ci_high: percentile(&means, 1.0 - alpha / 2.0),
        p_value: (extreme as f64 + 1.0) / (resamples as f64 + 1.0),
    })
}

/// Holm's step-down adjusted p-values (same order as `p`). NaN p-values (undefined tests)
/// stay NaN and do not count as hypotheses.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let m = order.len();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max((m - k) as f64 * p[i]);
        out[i] = running.min(1.0);
    }
    out
}

/// Bonferroni-adjusted p-values: `min(1, m p)`, `m` counting the non-NaN p-values.
pub fn bonferroni(p: &[f64]) -> Vec<f64> {
    let m = p.iter().filter(|x| !x.is_nan()).count() as f64;
    p.iter()
        .map(|&x| if x.is_nan() { x } else { (x * m).min(1.0) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn exact_distribution_is_symmetric_and_sums_to_one() {
        // n = 4: all 16 subsets; R+ = 0 happens once: two-sided p = 2/16.
        assert_relative_eq!(exact_signed_rank_p(4, 0.0), 0.125);
        assert_relative_eq!(exact_signed_rank_p(4, 10.0), 0.125);
        assert_relative_eq!(exact_signed_rank_p(4, 5.0), 1.0);
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        assert!(paired_t(&[1.0, 2.0], &[1.0]).is_err());
        assert!(wilcoxon(&[], &[]).is_err());
    }

    #[test]
    fn holm_is_monotone_and_bounded() {
        let p = [0.01, 0.04, 0.03, 0.2, 0.005];
        let h = holm(&p);
        assert_relative_eq!(h[4], 0.025);
        assert_relative_eq!(h[0], 0.04);
        assert!(h.iter().all(|&x| (0.0..=1.0).contains(&x)));
    }
}
