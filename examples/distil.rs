//! Trains one student query encoder for a low-resource language from bitext (OPTICAL or a
//! baseline) and prints its report as JSON.
//!
//! ```text
//! cargo run --release --example distil -- --config configs/distil/optical.toml --lang hau
//! cargo run --release --example distil -- --method sentence-kd --lang yor --budget 500 --out runs/yor-skd
//! cargo run --release --example distil -- --config configs/distil/optical.toml --resume   # after a kill
//! ```
//!
//! Flags override the config file (or the defaults without one). The student goes to
//! `OUT/student/`, the run record to `OUT/record.json`, checkpoints to `OUT/checkpoint/` while
//! it runs; the teacher's English states are cached under `--cache-dir` (default
//! `OUT/../cache/teacher`). Exit status 2: bad arguments or configuration; 1: the run failed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use optical::distil::{DistilConfig, Method, RunOptions, distil};

#[derive(Parser, Debug)]
#[command(about = "Distil a low-resource query encoder from bitext (OPTICAL and baselines)")]
struct Args {
    /// A TOML configuration (see configs/distil/); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Language code of the low-resource side.
    #[arg(long)]
    lang: Option<String>,
    /// `optical`, `sentence-kd`, `token-kd` or `infonce`.
    #[arg(long)]
    method: Option<String>,
    /// Bitext pairs (first N after a seeded shuffle; 0 = all).
    #[arg(long)]
    budget: Option<usize>,
    /// Training seed (data order, dropout).
    #[arg(long)]
    seed: Option<u64>,
    /// Passes over the bitext.
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Output folder (default runs/distil/<lang>-<method>-seed<seed>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Data root (the layout of ../shared/data).
    #[arg(long, default_value = optical::data::DEFAULT_DATA_ROOT)]
    data_root: PathBuf,
    /// Folder of teacher caches (default OUT/../cache/teacher).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Continue from OUT/checkpoint/ if present.
    #[arg(long)]
    resume: bool,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print the configuration that would run (TOML) and exit.
    #[arg(long)]
    print_config: bool,
}

fn config(args: &Args) -> Result<DistilConfig> {
    let mut cfg = match &args.config {
        Some(path) => DistilConfig::load(path)?,
        None => DistilConfig::default(),
    };
    if let Some(lang) = &args.lang {
        cfg.lang.clone_from(lang);
    }
    if let Some(m) = &args.method {
        cfg.method = toml::Value::String(m.clone())
            .try_into::<Method>()
            .with_context(|| {
                format!("--method {m}: expected optical, sentence-kd, token-kd or infonce")
            })?;
    }
    if let Some(b) = args.budget {
        cfg.bitext.budget = b;
    }
    if let Some(s) = args.seed {
        cfg.train.seed = s;
    }
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    if let Some(lr) = args.lr {
        cfg.train.lr = lr;
    }
    cfg.check()?;
    Ok(cfg)
}

fn main() -> ExitCode {
    optical_examples::init_tracing();
    let args = Args::parse();
    let prepared = config(&args).and_then(|cfg| {
        let device = optical_examples::parse_device(&args.device)?;
        Ok((cfg, device))
    });
    let (cfg, device) = match prepared {
        Ok(x) => x,
        Err(e) => {
            eprintln!("distil: {e:#}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        match toml::to_string_pretty(&cfg) {
            Ok(t) => print!("{t}"),
            Err(e) => {
                eprintln!("distil: {e}");
                return ExitCode::from(1);
            }
        }
        return ExitCode::SUCCESS;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs/distil").join(format!(
            "{}-{}-seed{}",
            cfg.lang,
            cfg.method.name(),
            cfg.train.seed
        ))
    });
    let opts = RunOptions {
        resume: args.resume,
        progress: !args.quiet,
        device,
        cache_dir: args.cache_dir.clone(),
        ..RunOptions::default()
    };
    match distil(&cfg, &args.data_root, &out, &opts) {
        Ok(report) => {
            match serde_json::to_string_pretty(&report) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("distil: cannot print the report: {e}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("distil: {msg}");
            ExitCode::from(1)
        }
    }
}
