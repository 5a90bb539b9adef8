//! Ranks the documents of an evaluation collection for its queries and writes a TREC run (and
//! the collection's qrels next to it), then prints the headline measures.
//!
//! ```text
//! cargo run --release --example retrieve -- --collection afriqa:hau:test --method dense
//! cargo run --release --example retrieve -- --collection xquad:de --method bm25
//! cargo run --release --example retrieve -- --collection afriqa:hau --method bm25-translated
//! cargo run --release --example retrieve -- --collection afriqa:hau --method dense \
//!     --query-model runs/distil/hau-optical-seed0/student --out runs/hau-optical.run
//! cargo run --release --example retrieve -- --collection afriqa:hau --english-queries  # upper bound
//! ```
//!
//! Collections: `afriqa:<lang>[:<split>][:all]` (test split, strict qrels by default),
//! `xquad:<lang>[:paragraph]`, `flores:<code>`. Methods: `dense` (the query model's vectors
//! against the document model's, documents cached under `--cache-dir`), `bm25` (the native
//! query as it is), `bm25-translated` (each query word replaced by its best associated English
//! word in the language's training bitext). Exit status 2: bad arguments; 1: the run failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use clir_metrics::Evaluator;
use optical::data::bitext::{self, BitextSpec, LeakGuard};
use optical::data::{CollectionSpec, Topic};
use optical::model::{Role, load_encoder};
use optical::retrieve::{
    Bm25Index, Bm25Options, DenseIndex, HEADLINE, Lexicon, LexiconOptions, qrels_of, save_run,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Method {
    /// Query encoder against cached document embeddings, exact top-k.
    Dense,
    /// BM25 on the query as it is.
    Bm25,
    /// BM25 on the query translated word by word through the bitext lexicon.
    Bm25Translated,
}

#[derive(Parser, Debug)]
#[command(about = "Rank a collection's documents for its queries and write a TREC run")]
struct Args {
    /// `afriqa:hau[:test][:all]`, `xquad:de[:paragraph]` or `flores:hau_Latn`.
    #[arg(long)]
    collection: String,
    /// Retrieval method.
    #[arg(long, value_enum, default_value = "dense")]
    method: Method,
    /// Query encoder folder (a distilled student or the teacher; default: --doc-model).
    #[arg(long)]
    query_model: Option<PathBuf>,
    /// Document (passage) encoder folder: the frozen teacher.
    #[arg(long, default_value = "models/multilingual-e5-small")]
    doc_model: PathBuf,
    /// Use the human English translations of the queries (the upper bound).
    #[arg(long)]
    english_queries: bool,
    /// Documents kept per query.
    #[arg(long, default_value_t = 100)]
    k: usize,
    /// Folder of the document-embedding cache.
    #[arg(long, default_value = "cache")]
    cache_dir: PathBuf,
    /// Run file to write (default runs/<collection>-<method>.run); the qrels go next to it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run tag (default: the method).
    #[arg(long)]
    tag: Option<String>,
    /// Data root (the layout of ../shared/data).
    #[arg(long, default_value = optical::data::DEFAULT_DATA_ROOT)]
    data_root: PathBuf,
    /// BM25: English stemming of documents and queries.
    #[arg(long)]
    stem: bool,
    /// bm25-translated: bitext pairs for the lexicon (first N after a seeded shuffle; 0 = all).
    #[arg(long, default_value_t = 0)]
    budget: usize,
    /// bm25-translated: seed of the budget's shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// bm25-translated: keep each source word next to its translation.
    #[arg(long)]
    keep_source: bool,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn run(args: &Args) -> Result<()> {
    let spec: CollectionSpec = args
        .collection
        .parse()
        .with_context(|| format!("--collection {}", args.collection))?;
    let device = optical_examples::parse_device(&args.device)?;
    let c = spec.load(&args.data_root)?;
    for s in &c.skipped {
        tracing::debug!("{s}");
    }
    eprintln!(
        "{}: {} queries, {} documents, {} judgments ({} rows skipped)",
        c.name,
        c.queries.len(),
        c.documents.len(),
        c.qrels.len(),
        c.skipped.len()
    );
    let queries: &[Topic] = if args.english_queries {
        if c.english_queries.is_empty() {
            bail!("{} has no English translations of its queries", c.name);
        }
        &c.english_queries
    } else {
        &c.queries
    };
    let method_name = match args.method {
        Method::Dense => "dense",
        Method::Bm25 => "bm25",
        Method::Bm25Translated => "bm25-translated",
    };
    let tag = args.tag.clone().unwrap_or_else(|| {
        let en = if args.english_queries { "-en" } else { "" };
        format!("{method_name}{en}")
    });
    let start = Instant::now();
    let run = match args.method {
        Method::Dense => {
            let index = {
                let docs = load_encoder(&args.doc_model, Role::Passage, device)?;
                let cache = args.cache_dir.join("docs");
                DenseIndex::build(&docs, &c.documents, Some(&cache), !args.quiet)?
            };
            let model = args.query_model.as_ref().unwrap_or(&args.doc_model);
            let encoder = load_encoder(model, Role::Query, device)?;
            index.search(&encoder, queries, args.k, &tag)?
        }
        Method::Bm25 => {
            let index = Bm25Index::build_with(
                &c.documents,
                Bm25Options {
                    stemming: args.stem,
                },
            )?;
            index.search(queries, args.k, &tag)?
        }
        Method::Bm25Translated => {
            let guard = LeakGuard::from_root(&args.data_root)?;
            let mut bspec = BitextSpec::new(spec.language());
            if args.budget > 0 {
                bspec = bspec.budget(args.budget, args.seed);
            }
            let bitext = bitext::load(&args.data_root, &bspec, &guard)?;
            let n = bitext.pairs.len();
            let options = LexiconOptions {
                keep_source: args.keep_source,
                ..LexiconOptions::default()
            };
            let lexicon =
                Lexicon::from_bitext(bitext.pairs.into_iter().map(|p| (p.lrl, p.en)), &options)?;
            eprintln!("lexicon: {} words from {n} bitext pairs", lexicon.len());
            let translated: Vec<Topic> = queries
                .iter()
                .map(|q| Topic {
                    id: q.id.clone(),
                    text: lexicon.translate(&q.text),
                })
                .collect();
            if let (Some(q), Some(t)) = (queries.first(), translated.first()) {
                eprintln!("e.g. {:?} → {:?}", q.text, t.text);
            }
            let index = Bm25Index::build_with(
                &c.documents,
                Bm25Options {
                    stemming: args.stem,
                },
            )?;
            index.search(&translated, args.k, &tag)?
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let out = args.out.clone().unwrap_or_else(|| {
        let en = if args.english_queries { "-en" } else { "" };
        PathBuf::from(format!("runs/{}-{method_name}{en}.run", spec.slug()))
    });
    save_run(&run, &out)?;
    let qrels_path = out.with_extension("qrels");
    c.write_qrels(&qrels_path)?;
    let qrels = qrels_of(&c)?;
    let eval = Evaluator::new(HEADLINE)
        .complete(true)
        .evaluate(&qrels, &run)?;
    let scores: Vec<String> = HEADLINE
        .iter()
        .map(|m| format!("{m} {:.4}", eval.mean(m).unwrap_or(f64::NAN)))
        .collect();
    println!(
        "{} {tag}: {} ({} queries, {seconds:.1} s) → {} + {}",
        c.name,
        scores.join(", "),
        qrels.num_queries(),
        out.display(),
        qrels_path.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    optical_examples::init_tracing();
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
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
