//! `cooc`: co-occurrence statistics, cost blocks and alignments from bitext.
//!
//! ```sh
//! cargo run --release --example cooc -- count --src en.txt.gz --tgt ha.txt.gz \
//!     [--tokenizer tokenizer.json] --out stats.cooc
//! cargo run --release --example cooc -- cost --stats stats.cooc \
//!     --src-sent "the house" --tgt-sent "gidan" --measure dice
//! cargo run --release --example cooc -- align --stats stats.cooc --src en.txt --tgt ha.txt \
//!     --method competitive > align.txt
//! ```
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use cooc::align::{AlignMethod, align, sinkhorn_align};
use cooc::ot_core::{Sinkhorn, Status};
use cooc::{
    CoocStats, CostTable, CountOptions, Dedup, DiagonalPrior, LinePairs, Measure, Model1Params,
    Punctuation, SentencePair, Tokenizer, TsvOptions, TsvPairs, Window, WordOptions,
};

#[derive(Parser)]
#[command(about = "Cross-lingual co-occurrence statistics, cost blocks and alignments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Method {
    Argmax,
    Competitive,
    Sinkhorn,
}

#[derive(Subcommand)]
enum Command {
    /// Count co-occurrence over a bitext and save the statistics.
    Count {
        /// Source side, one sentence per line (gzip or plain).
        #[arg(long, required_unless_present = "tsv")]
        src: Option<PathBuf>,
        /// Target side, aligned with --src.
        #[arg(long, required_unless_present = "tsv")]
        tgt: Option<PathBuf>,
        /// A TSV bitext with a header (columns 0 and 1) instead of --src/--tgt.
        #[arg(long, conflicts_with_all = ["src", "tgt"])]
        tsv: Option<PathBuf>,
        /// Hugging Face tokenizer.json (subword ids); word tokens when absent.
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        /// Output statistics file.
        #[arg(long)]
        out: PathBuf,
        /// Word mode: keep case.
        #[arg(long)]
        keep_case: bool,
        /// Word mode: punctuation rule.
        #[arg(long, default_value = "split", value_parser = ["keep", "split", "strip"])]
        punctuation: String,
        /// Drop duplicate sentence pairs.
        #[arg(long)]
        dedup: bool,
        /// Drop co-occurrence counts below this.
        #[arg(long, default_value_t = 1)]
        min_count: u32,
        /// Keep the k most frequent targets per source type.
        #[arg(long)]
        top_k: Option<usize>,
        /// Count only tokens within this relative diagonal distance.
        #[arg(long)]
        window: Option<f32>,
        /// Train IBM Model 1 with this many EM iterations.
        #[arg(long, default_value_t = 0)]
        model1_iters: usize,
        /// Use fast_align's diagonal prior for Model 1.
        #[arg(long)]
        diagonal: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Print the cost block of one sentence pair.
    Cost {
        #[arg(long)]
        stats: PathBuf,
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long)]
        src_sent: String,
        #[arg(long)]
        tgt_sent: String,
        /// dice, pmi, npmi, llr, phi2, p-tgt-given-src, p-src-given-tgt, model1.
        #[arg(long, default_value = "dice")]
        measure: String,
        /// Add-k smoothing.
        #[arg(long, default_value_t = 0.0)]
        k: f64,
    },
    /// Align a line-aligned bitext, Pharaoh `i-j` lines on standard output.
    Align {
        #[arg(long)]
        stats: PathBuf,
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long)]
        src: PathBuf,
        #[arg(long)]
        tgt: PathBuf,
        #[arg(long, value_enum, default_value = "competitive")]
        method: Method,
        #[arg(long, default_value = "dice")]
        measure: String,
        #[arg(long, default_value_t = 0.0)]
        k: f64,
        /// Sinkhorn: entropic regularisation.
        #[arg(long, default_value_t = 0.05)]
        eps: f32,
        /// Sinkhorn: link cells with plan ≥ threshold × max of their row and column.
        #[arg(long, default_value_t = 0.5)]
        threshold: f32,
    },
}

// Counting allocates and frees large per-thread buffers; mimalloc reuses them instead of
// returning them to the kernel and faulting them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Count {
            src,
            tgt,
            tsv,
            tokenizer,
            out,
            keep_case,
            punctuation,
            dedup,
            min_count,
            top_k,
            window,
            model1_iters,
            diagonal,
            quiet,
        } => {
            let tok = match &tokenizer {
                Some(p) => Tokenizer::load(p)?,
                None => Tokenizer::word(WordOptions {
                    lowercase: !keep_case,
                    punctuation: match punctuation.as_str() {
                        "keep" => Punctuation::Keep,
                        "strip" => Punctuation::Strip,
                        _ => Punctuation::Split,
                    },
                }),
            };
            let pairs: Box<dyn Iterator<Item = cooc::Result<SentencePair>>> = match (tsv, src, tgt)
            {
                (Some(t), _, _) => Box::new(TsvPairs::open(t, TsvOptions::default())?),
                (None, Some(s), Some(t)) => Box::new(LinePairs::open(s, t)?),
                _ => bail!("give --src and --tgt, or --tsv"),
            };
            let pairs = if dedup {
                Box::new(Dedup::new(pairs))
            } else {
                pairs
            };
            let options = CountOptions {
                min_count,
                top_k,
                window: window.map_or(Window::Sentence, |width| Window::Diagonal { width }),
                ..CountOptions::default()
            };
            let model1 = (model1_iters > 0).then(|| {
                Model1Params::default()
                    .iterations(model1_iters)
                    .diagonal(diagonal.then(DiagonalPrior::default))
            });
            let start = std::time::Instant::now();
            let stats = CoocStats::builder(tok)
                .options(options)
                .model1(model1)
                .progress(!quiet)
                .count(pairs)?;
            let secs = start.elapsed().as_secs_f64();
            let t = stats.table();
            let mem = t.memory();
            eprintln!(
                "{} pairs in {secs:.2} s ({:.0} pairs/min); {} source and {} target types; {} \
                 stored pairs; table {:.1} MiB + marginals {:.1} MiB",
                t.n_pairs(),
                t.n_pairs() as f64 / secs * 60.0,
                t.src_marginals().len(),
                t.tgt_marginals().len(),
                mem.nnz,
                mem.table_bytes as f64 / (1 << 20) as f64,
                mem.marginal_bytes as f64 / (1 << 20) as f64,
            );
            stats
                .save(&out)
                .with_context(|| format!("saving {}", out.display()))?;
        }
        Command::Cost {
            stats,
            tokenizer,
            src_sent,
            tgt_sent,
            measure,
            k,
        } => {
            let stats = CoocStats::load(&stats, tokenizer.as_deref())?;
            let measure: Measure = measure.parse()?;
            let table = CostTable::new(&stats, measure, k)?;
            let tok = stats.tokenizer();
            let s = tok.encode_src(&src_sent)?;
            let t = tok.encode_tgt(&tgt_sent)?;
            let block = table.cost_block(&s, &t);
            print!("{:>14}", "");
            for &j in &t {
                print!(" {:>10.10}", tok.tgt_token(j));
            }
            println!();
            for (i, &si) in s.iter().enumerate() {
                print!("{:>14.14}", tok.src_token(si));
                for j in 0..t.len() {
                    print!(" {:>10.4}", block[[i, j]]);
                }
                println!();
            }
        }
        Command::Align {
            stats,
            tokenizer,
            src,
            tgt,
            method,
            measure,
            k,
            eps,
            threshold,
        } => {
            let stats = CoocStats::load(&stats, tokenizer.as_deref())?;
            let table = CostTable::new(&stats, measure.parse()?, k)?;
            let tok = stats.tokenizer();
            let solver = Sinkhorn::new(f64::from(eps));
            let mut pairs = LinePairs::open(src, tgt)?.peekable();
            let mut not_converged = 0usize;
            while pairs.peek().is_some() {
                // Batches of 256 pairs: one padded cost tensor and one Sinkhorn solve per batch.
                let mut ids = Vec::with_capacity(256);
                for pair in pairs.by_ref().take(256) {
                    let pair = pair?;
                    ids.push((tok.encode_src(&pair.src)?, tok.encode_tgt(&pair.tgt)?));
                }
                let refs: Vec<_> = ids.iter().map(|(s, t)| (&s[..], &t[..])).collect();
                let links = match method {
                    Method::Argmax | Method::Competitive => refs
                        .iter()
                        .map(|(s, t)| {
                            let block = table.cost_block(s, t);
                            match method {
                                Method::Argmax => align(&block, AlignMethod::ArgmaxIntersection),
                                _ => {
                                    align(&block, AlignMethod::CompetitiveLinking { max_cost: 1.0 })
                                }
                            }
                        })
                        .collect(),
                    Method::Sinkhorn => {
                        let out = sinkhorn_align(&table.cost_batch(&refs), &solver, threshold)?;
                        not_converged += out
                            .status
                            .iter()
                            .filter(|s| **s != Status::Converged)
                            .count();
                        out.alignments
                    }
                };
                for l in links {
                    println!("{l}");
                }
            }
            if not_converged > 0 {
                eprintln!(
                    "sinkhorn: {not_converged} pairs did not converge (their plans were used)"
                );
            }
        }
    }
    Ok(())
}
