//! Evaluates TREC runs on one qrels file: the headline measures (nDCG@10, MAP, MRR@10,
//! Recall@100) of each run, with paired significance tests against the first run (Holm-corrected
//! over the other runs), through `clir_metrics::compare`.
//!
//! ```text
//! cargo run --release --example evaluate -- --qrels runs/afriqa-hau-test-dense.qrels \
//!     --run zero-shot=runs/afriqa-hau-test-dense.run --run bm25=runs/afriqa-hau-test-bm25.run
//! cargo run --release --example evaluate -- --qrels Q --run a=A --run b=B --format tsv --test t
//! ```
//!
//! Queries of the qrels that a run does not answer score 0. Exit status 2: bad arguments; 1: a
//! file could not be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use clir_metrics::compare::{CompareOptions, ComparisonReport, Correction, Test, compare};
use clir_metrics::{Qrels, Run};
use optical::retrieve::HEADLINE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A Markdown table (`†`: significant against the baseline).
    Md,
    /// Tab-separated: run, measure, mean, delta, p, adjusted p, significant.
    Tsv,
    /// The full report as JSON.
    Json,
}

#[derive(Parser, Debug)]
#[command(about = "Headline measures of TREC runs with paired significance against the first")]
struct Args {
    /// TREC qrels file.
    #[arg(long)]
    qrels: PathBuf,
    /// `NAME=FILE`, repeated; the first is the baseline.
    #[arg(long = "run", required = true)]
    runs: Vec<String>,
    /// `md`, `tsv` or `json`.
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Paired test: `randomization`, `t` or `wilcoxon`.
    #[arg(long, default_value = "randomization")]
    test: String,
    /// Multiple-testing correction: `holm`, `bonferroni` or `none`.
    #[arg(long, default_value = "holm")]
    correction: String,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Resamples of the randomization test.
    #[arg(long, default_value_t = 10_000)]
    resamples: usize,
    /// Seed of the randomization test.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn tsv(report: &ComparisonReport) -> String {
    let mut s = String::from("run\tmeasure\tmean\tdelta\tp\tp_adjusted\tsignificant\n");
    for (m, mean) in report.measures.iter().zip(&report.baseline_means) {
        s += &format!("{}\t{m}\t{mean:.4}\t\t\t\t\n", report.baseline);
    }
    for r in &report.runs {
        for (m, c) in report.measures.iter().zip(&r.cells) {
            s += &format!(
                "{}\t{m}\t{:.4}\t{:+.4}\t{:.4}\t{:.4}\t{}\n",
                r.name, c.mean, c.delta, c.p_value, c.p_adjusted, c.significant
            );
        }
    }
    s
}

fn run(args: &Args) -> Result<String> {
    let qrels = Qrels::load(&args.qrels)?;
    let mut runs: Vec<(String, Run)> = Vec::with_capacity(args.runs.len());
    for spec in &args.runs {
        let Some((name, file)) = spec.split_once('=') else {
            bail!("--run {spec}: expected NAME=FILE");
        };
        if runs.iter().any(|(n, _)| n == name) {
            bail!("--run {spec}: the name `{name}` is used twice");
        }
        let run = Run::load(file).with_context(|| format!("--run {spec}"))?;
        runs.push((name.to_owned(), run));
    }
    let options = CompareOptions::new(HEADLINE)
        .test(args.test.parse()?)
        .correction(args.correction.parse::<Correction>()?)
        .alpha(args.alpha)
        .resamples(args.resamples)
        .seed(args.seed);
    let (base, others) = runs.split_first().context("no --run given")?;
    let others: Vec<(&str, &Run)> = others.iter().map(|(n, r)| (n.as_str(), r)).collect();
    let report = compare(&qrels, (base.0.as_str(), &base.1), &others, &options)?;
    Ok(match args.format {
        Format::Md => report.to_markdown(),
        Format::Tsv => tsv(&report),
        Format::Json => report.to_json()? + "\n",
    })
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if args.test.parse::<Test>().is_err()
        || args.correction.parse::<Correction>().is_err()
        || !(args.alpha > 0.0 && args.alpha < 1.0)
    {
        eprintln!(
            "error: --test must be randomization, t or wilcoxon; --correction holm, bonferroni \
             or none; --alpha in (0, 1)"
        );
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
