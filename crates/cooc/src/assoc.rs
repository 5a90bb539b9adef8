//! Association measures over the 2 × 2 contingency table of a (source, target) type pair.
//!
//! With `N` sentence pairs, `c(s, t)`, `c(s)`, `c(t)` from [`CoocTable`](crate::CoocTable), the
//! cells are `a = c(s,t)`, `b = c(s) − a`, `c = c(t) − a`, `d = N − a − b − c`. Add-k smoothing
//! adds `k` to each of the four cells (`N + 4k` in all). Then
//!
//! | measure | raw score | scaled to `[0, 1]` as |
//! |---|---|---|
//! | Dice | `2a / (2a + b + c)` | itself |
//! | PMI | `ln(a·N / ((a+b)(a+c)))` | `max(0, pmi) / max_table(pmi)` |
//! | NPMI | `pmi / −ln(a/N)` | `max(0, npmi)` |
//! | G² (log-likelihood ratio) | `2 Σ O ln(O/E)` over the 4 cells, 0 if `a < E(a)` | `g / max_table(g)` |
//! | φ² | `(ad − bc)² / ((a+b)(c+d)(a+c)(b+d))`, 0 if `ad < bc` | itself |
//! | p(t∣s) | `a / (a + b)` | itself |
//! | p(s∣t) | `a / (a + c)` | itself |
//! | IBM Model 1 | `t(t∣s)` by EM ([`Model1`](crate::Model1)) | itself |
//!
//! Only positive association lowers a cost: a pair that co-occurs less than chance gets
//! association 0 (cost 1), like a pair never seen.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// An association measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Dice coefficient.
    Dice,
    /// Pointwise mutual information (positive part, divided by the table maximum).
    Pmi,
    /// Normalised PMI (positive part).
    Npmi,
    /// Dunning's log-likelihood ratio G² (positive association, divided by the table maximum).
    LogLikelihood,
    /// φ² (squared phi coefficient).
    PhiSquared,
    /// p(target | source).
    TgtGivenSrc,
    /// p(source | target).
    SrcGivenTgt,
    /// IBM Model 1 translation probability t(target | source).
    Model1,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Self; 8] = [
        Self::Dice,
        Self::Pmi,
        Self::Npmi,
        Self::LogLikelihood,
        Self::PhiSquared,
        Self::TgtGivenSrc,
        Self::SrcGivenTgt,
        Self::Model1,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dice => "dice",
            Self::Pmi => "pmi",
            Self::Npmi => "npmi",
            Self::LogLikelihood => "llr",
            Self::PhiSquared => "phi2",
            Self::TgtGivenSrc => "p-tgt-given-src",
            Self::SrcGivenTgt => "p-src-given-tgt",
            Self::Model1 => "model1",
        }
    }

    /// Whether scores are divided by the table maximum to land in `[0, 1]`.
    pub fn needs_table_max(self) -> bool {
        matches!(self, Self::Pmi | Self::LogLikelihood)
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Measure {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::InvalidParameter {
                name: "measure",
                reason: format!(
                    "unknown measure {s:?}; one of {}",
                    Self::ALL.map(Self::name).join(", ")
                ),
            })
    }
}

/// Counts of one type pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairCounts {
    /// `c(s, t)`.
    pub joint: u32,
    /// `c(s)`.
    pub src: u32,
    /// `c(t)`.
    pub tgt: u32,
    /// `N`, the number of sentence pairs.
    pub n: u64,
}

fn xlogx_over(o: f64, e: f64) -> f64 {
    if o > 0.0 { o * (o / e).ln() } else { 0.0 }
}

/// The raw score of `measure` (see the module table) with add-`k` smoothing; [`Measure::Model1`]
/// has no contingency form and yields an error.
pub fn score(measure: Measure, counts: PairCounts, k: f64) -> Result<f64> {
    let a0 = f64::from(counts.joint);
    let b0 = (f64::from(counts.src) - a0).max(0.0);
    let c0 = (f64::from(counts.tgt) - a0).max(0.0);
    let d0 = (counts.n as f64 - a0 - b0 - c0).max(0.0);
    let (a, b, c, d) = (a0 + k, b0 + k, c0 + k, d0 + k);
    let n = a + b + c + d;
    if n <= 0.0 || a <= 0.0 {
        return Ok(0.0);
    }
    let pmi = (a * n / ((a + b) * (a + c))).ln();
    Ok(match measure {
        Measure::Dice => 2.0 * a / (2.0 * a + b + c),
        Measure::Pmi => pmi,
        Measure::Npmi => {
            let h = -(a / n).ln();
            if h <= 0.0 { 1.0 } else { pmi / h }
        }
        Measure::LogLikelihood => {
            let (r1, r2, k1, k2) = (a + b, c + d, a + c, b + d);
            let ea = r1 * k1 / n;
            if a < ea {
                0.0
            } else {
                2.0 * (xlogx_over(a, ea)
                    + xlogx_over(b, r1 * k2 / n)
                    + xlogx_over(c, r2 * k1 / n)
                    + xlogx_over(d, r2 * k2 / n))
            }
        }
        Measure::PhiSquared => {
            let num = a * d - b * c;
            let den = (a + b) * (c + d) * (a + c) * (b + d);
            if num <= 0.0 || den <= 0.0 {
                0.0
            } else {
                num * num / den
            }
        }
        Measure::TgtGivenSrc => a / (a + b),
        Measure::SrcGivenTgt => a / (a + c),
        Measure::Model1 => {
            return Err(Error::MeasureUnavailable {
                measure: "model1",
                reason: "IBM Model 1 is trained by EM, not computed from counts",
            });
        }
    })
}

/// Maps a raw score into `[0, 1]` association given the table maximum `max` (used only by the
/// measures for which [`Measure::needs_table_max`] holds).
pub fn scale(measure: Measure, raw: f64, max: f64) -> f64 {
    let v = if measure.needs_table_max() {
        if max > 0.0 { raw.max(0.0) / max } else { 0.0 }
    } else {
        raw.max(0.0)
    };
    v.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn pc(joint: u32, src: u32, tgt: u32, n: u64) -> PairCounts {
        PairCounts { joint, src, tgt, n }
    }

    #[test]
    fn textbook_values() {
        // a=10, b=5, c=15, d=70, N=100.
        let p = pc(10, 15, 25, 100);
        assert_relative_eq!(score(Measure::Dice, p, 0.0).unwrap(), 20.0 / 40.0);
        assert_relative_eq!(
            score(Measure::Pmi, p, 0.0).unwrap(),
            (10.0f64 * 100.0 / (15.0 * 25.0)).ln()
        );
        assert_relative_eq!(score(Measure::TgtGivenSrc, p, 0.0).unwrap(), 10.0 / 15.0);
        assert_relative_eq!(score(Measure::SrcGivenTgt, p, 0.0).unwrap(), 10.0 / 25.0);
        let phi = (10.0f64 * 70.0 - 5.0 * 15.0).powi(2) / (15.0 * 85.0 * 25.0 * 75.0);
        assert_relative_eq!(score(Measure::PhiSquared, p, 0.0).unwrap(), phi);
        // G² against a direct computation.
        let e = [
            15.0 * 25.0 / 100.0,
            15.0 * 75.0 / 100.0,
            85.0 * 25.0 / 100.0,
            85.0 * 75.0 / 100.0,
        ];
        let o = [10.0f64, 5.0, 15.0, 70.0];
        let g: f64 = 2.0 * o.iter().zip(e).map(|(o, e)| o * (o / e).ln()).sum::<f64>();
        assert_relative_eq!(
            score(Measure::LogLikelihood, p, 0.0).unwrap(),
            g,
            epsilon = 1e-12
        );
        // Perfect association.
        let q = pc(7, 7, 7, 7);
        assert_relative_eq!(score(Measure::Npmi, pc(7, 7, 7, 70), 0.0).unwrap(), 1.0);
        assert_relative_eq!(score(Measure::Dice, q, 0.0).unwrap(), 1.0);
    }

    #[test]
    fn smoothing_and_scaling() {
        let p = pc(1, 1, 1, 10);
        assert!(score(Measure::TgtGivenSrc, p, 1.0).unwrap() < 1.0);
        assert_relative_eq!(scale(Measure::Pmi, -1.0, 2.0), 0.0);
        assert_relative_eq!(scale(Measure::Pmi, 1.0, 2.0), 0.5);
        assert!("nope".parse::<Measure>().is_err());
        for m in Measure::ALL {
            assert_eq!(m.name().parse::<Measure>().unwrap(), m);
        }
        assert!(score(Measure::Model1, p, 0.0).is_err());
    }
}
