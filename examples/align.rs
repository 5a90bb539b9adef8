//! Soft token alignment of real bitext by entropic optimal transport — the step OPTICAL distils —
//! printed for inspection.
//!
//! 1. assembles the training bitext of `--lang` from the data root (FLORES dev, NTREX, LAFAND,
//!    MENYO; deduplicated; every evaluation text kept out),
//! 2. counts subword co-occurrence on it with the model's own tokenizer (cooc, Dice),
//! 3. encodes sample pairs with multilingual-e5-small (clir-encoders, libtorch),
//! 4. solves the batched, masked Sinkhorn problems with the cost
//!    `λ (1 − cos) + (1 − λ) (1 − Dice)` (ot-core) and prints the soft alignments,
//! 5. checks that the OT cost recognises translations: each pair against a mismatched pair.
//!
//! `cargo run --release --example align -- --data-root ../shared/data --lang hau`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use clir_encoders::Encoder;
use cooc::{CoocStats, CostTable, Measure, SentencePair, Tokenizer};
use optical::align::{AlignConfig, SoftAlignment, soft_align};
use optical::data::bitext::{self, BitextSpec, LeakGuard};
use ot_core::Status;

#[derive(Parser, Debug)]
#[command(about = "Soft token alignment of real bitext by entropic optimal transport")]
struct Args {
    /// Data root (the layout of ../shared/data).
    #[arg(long, default_value = "../shared/data")]
    data_root: PathBuf,
    /// Language code of the low-resource side.
    #[arg(long, default_value = "hau")]
    lang: String,
    /// Encoder folder (Hugging Face layout); its tokenizer.json also tokenises the counts.
    #[arg(long, default_value = "models/multilingual-e5-small")]
    model: PathBuf,
    /// Number of sample pairs to align.
    #[arg(long, default_value_t = 64)]
    pairs: usize,
    /// Number of alignments to print.
    #[arg(long, default_value_t = 3)]
    show: usize,
    /// Weight of the embedding cost (1 − λ on the co-occurrence cost).
    #[arg(long, default_value_t = 0.5)]
    lambda: f32,
    /// Entropic regularisation.
    #[arg(long, default_value_t = 0.05)]
    eps: f64,
    /// Seed of the sample.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    if !args.model.join("config.json").exists() {
        bail!(
            "no model at {} (run `make setup` first)",
            args.model.display()
        );
    }

    let guard = LeakGuard::from_root(&args.data_root).with_context(|| {
        format!(
            "reading evaluation texts under {}",
            args.data_root.display()
        )
    })?;
    let bitext = bitext::load(&args.data_root, &BitextSpec::new(&args.lang), &guard)?;
    let r = &bitext.report;
    println!(
        "bitext {}-eng: {} pairs from {} files ({} duplicates, {} touching evaluation text dropped)",
        args.lang,
        bitext.pairs.len(),
        r.files.len(),
        r.duplicates,
        r.leaked
    );

    let tokenizer = Tokenizer::load(args.model.join("tokenizer.json"))?;
    let pairs = bitext.pairs.iter().enumerate().map(|(i, p)| {
        Ok(SentencePair {
            src: p.lrl.clone(),
            tgt: p.en.clone(),
            line: i as u64 + 1,
        })
    });
    let stats = CoocStats::builder(tokenizer).progress(true).count(pairs)?;
    let costs = CostTable::new(&stats, Measure::Dice, 0.0)?;
    println!(
        "co-occurrence: {} subword pairs counted",
        stats.table().nnz()
    );

    // A seeded sample of short pairs, so the printed alignments stay readable.
    let mut order: Vec<&bitext::BitextPair> = bitext.pairs.iter().collect();
    bitext::shuffle(&mut order, args.seed);
    let sample: Vec<(&str, &str)> = order
        .into_iter()
        .map(|p| (p.lrl.as_str(), p.en.as_str()))
        .filter(|(s, e)| s.split_whitespace().count() <= 14 && e.split_whitespace().count() <= 14)
        .take(args.pairs.max(2))
        .collect();

    let device = clir_encoders::tch::Device::cuda_if_available();
    let encoder = Encoder::load(&args.model, device)?;
    let config = AlignConfig {
        lambda: args.lambda,
        eps: args.eps,
        ..AlignConfig::default()
    };
    let aligned = soft_align(&encoder, &encoder, Some(&costs), &sample, &config)?;
    let shifted: Vec<(&str, &str)> = (0..sample.len())
        .map(|k| (sample[k].0, sample[(k + 1) % sample.len()].1))
        .collect();
    let mismatched = soft_align(&encoder, &encoder, Some(&costs), &shifted, &config)?;

    for (k, al) in aligned.iter().take(args.show).enumerate() {
        println!("\n[{}] {}\n    {}", k + 1, sample[k].0, sample[k].1);
        print_alignment(al);
    }

    let mean =
        |v: &[SoftAlignment]| v.iter().map(|a| a.transport_cost).sum::<f64>() / v.len() as f64;
    let wins = aligned
        .iter()
        .zip(&mismatched)
        .filter(|(a, m)| a.transport_cost < m.transport_cost)
        .count();
    let converged = aligned
        .iter()
        .chain(&mismatched)
        .filter(|a| a.status == Status::Converged)
        .count();
    println!(
        "\n{} pairs, eps {}, lambda {}: mean <P, C> {:.4} for translations vs {:.4} for mismatched pairs; \
         the translation costs less in {}/{} ({:.1}%); {}/{} problems converged; {:.1}s on {:?}",
        sample.len(),
        args.eps,
        args.lambda,
        mean(&aligned),
        mean(&mismatched),
        wins,
        aligned.len(),
        100.0 * wins as f64 / aligned.len() as f64,
        converged,
        2 * aligned.len(),
        started.elapsed().as_secs_f64(),
        device,
    );
    Ok(())
}

fn print_alignment(al: &SoftAlignment) {
    for (i, tok) in al.src_tokens.iter().enumerate() {
        if let Some((j, share)) = al.best_target(i) {
            println!(
                "    {tok:>16} -> {:<16} {:>5.1}%  (cost {:.3})",
                al.tgt_tokens[j],
                100.0 * share,
                al.cost[[i, j]]
            );
        }
    }
    println!(
        "    <P, C> = {:.4}, {} iterations, {}",
        al.transport_cost,
        al.iterations,
        al.status.as_str()
    );
}
