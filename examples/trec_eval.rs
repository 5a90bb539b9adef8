//! trec_eval-compatible evaluation:
//! `trec_eval [-q] [-c] [-n] [-l N] [-M N] [-J] [-m MEASURE]... QRELS RUN`.
//!
//! Prints `measure\tqid|all\tvalue` lines exactly as trec_eval 9.0.8 does (`-m official` by
//! default, `-m all_trec` for every implemented measure).

use std::io::Write;

use clir_metrics::cli::TrecEvalArgs;

fn main() -> anyhow::Result<()> {
    let args = TrecEvalArgs::parse(std::env::args().skip(1))?;
    let out = args.execute()?;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
