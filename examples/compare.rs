//! Compares runs against a baseline with paired significance tests:
//! `compare --qrels Q --baseline RUN RUN... [-m MEASURE]... [--test t|wilcoxon|randomization]
//! [--correction holm|bonferroni] [--json]`.
//!
//! Prints a Markdown table of means (deltas to the baseline in parentheses, `†` where the
//! corrected p-value is below 0.05), or the full report as JSON with `--json`.

use std::io::Write;

use clir_metrics::cli::CompareArgs;

fn main() -> anyhow::Result<()> {
    let args = CompareArgs::parse(std::env::args().skip(1))?;
    let out = args.execute()?;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
