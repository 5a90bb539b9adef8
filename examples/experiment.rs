//! Runs an experiment grid (methods × collections × seeds) from a TOML file, skipping every cell
//! whose current record exists, then prints its tables and writes them (and an nDCG@10 plot)
//! into `docs/results.md` between the experiment's markers.
//!
//! ```text
//! cargo run --release --example experiment -- configs/experiments/main.toml
//! cargo run --release --example experiment -- configs/experiments/main.toml --report-only
//! cargo run --release --example experiment -- configs/experiments/demo.toml --no-docs
//! ```
//!
//! A grid too large for one sitting: `--max-trainings N` stops after N students; run again later
//! (on this machine or another) and it goes on from the committed records in `results/<name>/`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use optical::experiment::{Experiment, ExperimentConfig, ExperimentOptions, write_section};

#[derive(Parser, Debug)]
#[command(about = "Run an experiment grid and regenerate its section of docs/results.md")]
struct Args {
    /// The experiment (TOML; see configs/experiments/).
    config: PathBuf,
    /// Data root (the layout of ../shared/data).
    #[arg(long, default_value = optical::data::DEFAULT_DATA_ROOT)]
    data_root: PathBuf,
    /// Runs and students (default runs/<name>).
    #[arg(long)]
    runs: Option<PathBuf>,
    /// Run records (default results/<name>; commit them).
    #[arg(long)]
    records: Option<PathBuf>,
    /// Document-embedding and teacher-state caches.
    #[arg(long, default_value = "cache")]
    cache: PathBuf,
    /// `cpu` or `cuda` (`cuda:N`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Only these rows (repeatable).
    #[arg(long = "only-method")]
    only_methods: Vec<String>,
    /// Only these collections in this sitting, as written in the config (repeatable); the report
    /// still covers every collection.
    #[arg(long = "only-collection")]
    only_collections: Vec<String>,
    /// Only these seeds in this sitting (repeatable); the report still expects every seed.
    #[arg(long = "only-seed")]
    only_seeds: Vec<u64>,
    /// Train at most this many students in this sitting.
    #[arg(long)]
    max_trainings: Option<usize>,
    /// Do not run anything: rebuild the report from the records.
    #[arg(long)]
    report_only: bool,
    /// The results file whose section is regenerated.
    #[arg(long, default_value = "docs/results.md")]
    docs: PathBuf,
    /// Print the report only; leave the results file and plots alone.
    #[arg(long)]
    no_docs: bool,
    /// Folder of the plots (linked from the results file).
    #[arg(long, default_value = "docs/plots")]
    plots: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

fn main() -> Result<()> {
    optical_examples::init_tracing();
    let args = Args::parse();
    let started = Instant::now();
    let config = ExperimentConfig::load(&args.config)?;
    let mut opts = ExperimentOptions::new(&config);
    opts.data_root = args.data_root.clone();
    if let Some(r) = &args.runs {
        opts.runs_dir = r.clone();
    }
    if let Some(r) = &args.records {
        opts.records_dir = r.clone();
    }
    opts.cache_dir = args.cache.clone();
    opts.device = optical_examples::parse_device(&args.device)?;
    opts.progress = !args.quiet;
    opts.only_methods = args.only_methods.clone();
    opts.only_collections = args.only_collections.clone();
    opts.max_trainings = args.max_trainings;
    opts.only_seeds = args.only_seeds.clone();
    let mut experiment = Experiment::new(config, opts)?;
    if !args.report_only {
        let summary = experiment
            .run()
            .with_context(|| format!("running {}", args.config.display()))?;
        eprintln!(
            "cells: {} computed, {} cached, {} deferred; {} students trained; {:.0} s",
            summary.computed, summary.cached, summary.deferred, summary.trained, summary.wall_s
        );
        for s in &summary.skipped {
            eprintln!("skipped: {s}");
        }
    }
    let command = format!(
        "cargo run --release --example experiment -- {}",
        args.config.display()
    );
    let plots = (!args.no_docs).then(|| {
        let base = args.docs.parent().map(PathBuf::from).unwrap_or_default();
        (args.plots.clone(), base)
    });
    let report = experiment.report(
        &command,
        plots.as_ref().map(|(d, b)| (d.as_path(), b.as_path())),
    )?;
    println!("{report}");
    if !args.no_docs {
        write_section(&args.docs, experiment.config().section(), &report)?;
        eprintln!(
            "wrote section `{}` of {}",
            experiment.config().section(),
            args.docs.display()
        );
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
