//! Comparing several runs against a baseline: per-measure means, paired tests, corrected
//! p-values and effect sizes, as a Markdown table or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::measure::Measure;
use crate::qrels::Qrels;
use crate::run::Run;
use crate::stats;

/// The paired test used by [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Test {
    /// Paired Student t-test.
    T,
    /// Wilcoxon signed-rank test (scipy's defaults).
    Wilcoxon,
    /// Fisher randomization (sign-flip) test.
    Randomization,
}

impl std::str::FromStr for Test {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "t" => Ok(Test::T),
            "wilcoxon" => Ok(Test::Wilcoxon),
            "randomization" => Ok(Test::Randomization),
            _ => Err(Error::InvalidArgument {
                name: "--test".into(),
                reason: format!("{s:?}: expected t, wilcoxon or randomization"),
            }),
        }
    }
}

/// Multiple-testing correction over the runs compared for one measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// No correction.
    None,
    /// Holm's step-down method.
    Holm,
    /// Bonferroni.
    Bonferroni,
}

impl std::str::FromStr for Correction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Correction::None),
            "holm" => Ok(Correction::Holm),
            "bonferroni" => Ok(Correction::Bonferroni),
            _ => Err(Error::InvalidArgument {
                name: "--correction".into(),
                reason: format!("{s:?}: expected holm, bonferroni or none"),
            }),
        }
    }
}

/// Options of [`compare`]; build with [`CompareOptions::new`] and the field-named setters.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    measures: Vec<Measure>,
    test: Test,
    correction: Correction,
    alpha: f64,
    resamples: usize,
    seed: u64,
}

impl CompareOptions {
    /// Options for `measures`, paired t-test, no correction, alpha 0.05.
    pub fn new(measures: impl IntoIterator<Item = Measure>) -> Self {
        Self {
            measures: measures.into_iter().collect(),
            test: Test::T,
            correction: Correction::None,
            alpha: 0.05,
            resamples: 10_000,
            seed: 42,
        }
    }
    /// The paired test.
    pub fn test(mut self, test: Test) -> Self {
        self.test = test;
        self
    }
    /// The multiple-testing correction.
    pub fn correction(mut self, correction: Correction) -> Self {
        self.correction = correction;
        self
    }
    /// The significance level.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Monte Carlo resamples of the randomization test (used above 20 queries).
    pub fn resamples(mut self, resamples: usize) -> Self {
        self.resamples = resamples;
        self
    }
    /// Seed of the randomization test.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// One run's result on one measure.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Mean over the queries of the qrels (missing queries count 0).
    pub mean: f64,
    /// `mean - baseline mean`.
    pub delta: f64,
    /// Raw two-sided p-value.
    pub p_value: f64,
    /// p-value after the correction.
    pub p_adjusted: f64,
    /// `p_adjusted < alpha`.
    pub significant: bool,
    /// Cohen's d for paired data.
    pub effect_size: f64,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// Run name.
    pub name: String,
    /// Cells, aligned with [`ComparisonReport::measures`].
    pub cells: Vec<Cell>,
}

/// The comparison of several runs against a baseline.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonReport {
    /// Baseline name.
    pub baseline: String,
    /// Baseline means, aligned with `measures`.
    pub baseline_means: Vec<f64>,
    /// Measure names.
    pub measures: Vec<String>,
    /// Number of queries (all queries of the qrels).
    pub num_queries: usize,
    /// Test used.
    pub test: Test,
    /// Correction used.
    pub correction: Correction,
    /// Significance level.
    pub alpha: f64,
    /// The compared runs.
    pub runs: Vec<RunRow>,
}

/// Per-query values of each measure over all qrels queries (0 where the run has none).
fn per_query(qrels: &Qrels, run: &Run, measures: &[Measure]) -> Result<Vec<Vec<f64>>> {
    let mut names: Vec<&str> = qrels.query_ids().map(|(_, n)| n).collect();
    names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let ev = Evaluator::new(measures.iter().copied()).evaluate(qrels, run);
    let ev = match ev {
        Ok(ev) => Some(ev),
        Err(Error::NoQueries) => None,
        Err(e) => return Err(e),
    };
    Ok(measures
        .iter()
        .map(|m| {
            names
                .iter()
                .map(|q| ev.as_ref().and_then(|ev| ev.value(q, m)).unwrap_or(0.0))
                .collect()
        })
        .collect())
}

/// Compares `runs` to `baseline` (name, run) on `qrels`.
pub fn compare(
    qrels: &Qrels,
    baseline: (&str, &Run),
    runs: &[(&str, &Run)],
    options: &CompareOptions,
) -> Result<ComparisonReport> {
    let measures = &options.measures;
    let base = per_query(qrels, baseline.1, measures)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut rows: Vec<RunRow> = Vec::with_capacity(runs.len());
    for (name, run) in runs {
        let sys = per_query(qrels, run, measures)?;
        let mut cells = Vec::with_capacity(measures.len());
        for (a, b) in base.iter().zip(&sys) {
            let out = match options.test {
                Test::T => stats::paired_t(a, b)?,
                Test::Wilcoxon => stats::wilcoxon(a, b)?,
                Test::Randomization => stats::randomization(a, b, options.resamples, options.seed)?,
            };
            cells.push(Cell {
                mean: mean(b),
                delta: mean(b) - mean(a),
                p_value: out.p_value,
                p_adjusted: out.p_value,
                significant: false,
                effect_size: stats::cohens_d(a, b)?,
            });
        }
        rows.push(RunRow {
            name: (*name).to_owned(),
            cells,
        });
    }
    for m in 0..measures.len() {
        let p: Vec<f64> = rows.iter().map(|r| r.cells[m].p_value).collect();
        let adj = match options.correction {
            Correction::None => p,
            Correction::Holm => stats::holm(&p),
            Correction::Bonferroni => stats::bonferroni(&p),
        };
        for (r, q) in rows.iter_mut().zip(adj) {
            r.cells[m].p_adjusted = q;
            r.cells[m].significant = q < options.alpha;
        }
    }
    Ok(ComparisonReport {
        baseline: baseline.0.to_owned(),
        baseline_means: base.iter().map(|v| mean(v)).collect(),
        measures: measures.iter().map(ToString::to_string).collect(),
        num_queries: qrels.num_queries(),
        test: options.test,
        correction: options.correction,
        alpha: options.alpha,
        runs: rows,
    })
}

impl ComparisonReport {
    /// A Markdown table: means, deltas, `†` where the (corrected) p-value is below alpha.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| run | {} |", self.measures.join(" | "));
        let _ = writeln!(s, "|---|{}", "---:|".repeat(self.measures.len()));
        let base: Vec<String> = self
            .baseline_means
            .iter()
            .map(|m| format!("{m:.4}"))
            .collect();
        let _ = writeln!(s, "| {} (baseline) | {} |", self.baseline, base.join(" | "));
        for r in &self.runs {
            let cells: Vec<String> = r
                .cells
                .iter()
                .map(|c| {
                    let mark = if c.significant { "†" } else { "" };
                    format!("{:.4}{mark} ({:+.4})", c.mean, c.delta)
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", r.name, cells.join(" | "));
        }
        let test = match self.test {
            Test::T => "paired t-test",
            Test::Wilcoxon => "Wilcoxon signed-rank test",
            Test::Randomization => "randomization test",
        };
        let corr = match self.correction {
            Correction::None => "no correction",
            Correction::Holm => "Holm correction",
            Correction::Bonferroni => "Bonferroni correction",
        };
        let _ = writeln!(
            s,
            "\n† p < {} against {} ({test}, {corr}, {} queries).",
            self.alpha, self.baseline, self.num_queries
        );
        s
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}
