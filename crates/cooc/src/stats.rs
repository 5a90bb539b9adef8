//! [`CoocStats`]: a tokenizer, its co-occurrence table and (optionally) IBM Model 1, built from
//! a streamed bitext, saved and loaded atomically.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::bitext::SentencePair;
use crate::{CoocTable, CountOptions, Counter, Model1, Model1Params, Result, Tokenizer};

/// Co-occurrence statistics of a bitext with the tokenizer that produced their ids.
#[derive(Debug)]
pub struct CoocStats {
    pub(crate) tokenizer: Tokenizer,
    pub(crate) table: CoocTable,
    pub(crate) model1: Option<Model1>,
}

/// Builds [`CoocStats`] from a bitext; a consuming builder.
///
/// ```
/// use cooc::{CoocStats, SentencePair, Tokenizer, WordOptions};
/// let pairs = [("the house", "das haus"), ("the cat", "die katze")]
///     .iter()
///     .enumerate()
///     .map(|(i, (s, t))| Ok(SentencePair { src: s.to_string(), tgt: t.to_string(), line: i as u64 + 1 }));
/// let stats = CoocStats::builder(Tokenizer::word(WordOptions::default())).count(pairs)?;
/// assert_eq!(stats.table().n_pairs(), 2);
/// # Ok::<(), cooc::Error>(())
/// ```
#[derive(Debug)]
pub struct StatsBuilder {
    tokenizer: Tokenizer,
    options: CountOptions,
    model1: Option<Model1Params>,
    progress: bool,
}

impl StatsBuilder {
    /// Counting and pruning options.
    pub fn options(mut self, options: CountOptions) -> Self {
        self.options = options;
        self
    }

    /// Also trains IBM Model 1 (keeps the tokenised corpus in memory: 4 bytes per token).
    pub fn model1(mut self, params: Option<Model1Params>) -> Self {
        self.model1 = params;
        self
    }

    /// Shows an indicatif progress bar (sentence pairs counted) on standard error.
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Streams `pairs` in chunks of `options.chunk_size`, tokenising and counting in parallel.
    pub fn count<I>(self, pairs: I) -> Result<CoocStats>
    where
        I: IntoIterator<Item = Result<SentencePair>>,
    {
        self.options.check()?;
        if let Some(p) = &self.model1 {
            p.check()?;
        }
        let Self {
            mut tokenizer,
            options,
            model1,
            progress,
        } = self;
        let bar = if progress {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {human_pos} pairs counted in {elapsed} ({per_sec})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        let mut counter = Counter::new(options.window);
        let mut corpus: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        let mut chunk: Vec<(String, String)> = Vec::with_capacity(options.chunk_size);
        let mut iter = pairs.into_iter();
        loop {
            chunk.clear();
            for p in iter.by_ref() {
                let p = p?;
                chunk.push((p.src, p.tgt));
                if chunk.len() == options.chunk_size {
                    break;
                }
            }
            if chunk.is_empty() {
                break;
            }
            let ids = tokenizer.encode_pairs_growing(&chunk)?;
            counter.add(&ids);
            bar.inc(chunk.len() as u64);
            if model1.is_some() {
                corpus.extend(ids);
            }
        }
        let table = counter.finish(&options);
        bar.finish_and_clear();
        let model1 = match model1 {
            Some(p) => Some(Model1::train(&table, &corpus, &p)?),
            None => None,
        };
        Ok(CoocStats {
            tokenizer,
            table,
            model1,
        })
    }
}

impl CoocStats {
    /// A builder counting with `tokenizer`.
    pub fn builder(tokenizer: Tokenizer) -> StatsBuilder {
        StatsBuilder {
            tokenizer,
            options: CountOptions::default(),
            model1: None,
            progress: false,
        }
    }

    /// Assembles statistics from parts (e.g. a table counted from pre-tokenised ids).
    pub fn new(tokenizer: Tokenizer, table: CoocTable, model1: Option<Model1>) -> Self {
        Self {
            tokenizer,
            table,
            model1,
        }
    }

    /// The tokenizer (word vocabularies included).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The counts.
    pub fn table(&self) -> &CoocTable {
        &self.table
    }

    /// IBM Model 1, if trained.
    pub fn model1(&self) -> Option<&Model1> {
        self.model1.as_ref()
    }

    /// Saves atomically (see [`crate::persist`] for the format).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::persist::save(self, path.as_ref())
    }

    /// Loads statistics; `tokenizer` must be the `tokenizer.json` they were counted with
    /// (subword mode) or `None` (word mode, whose vocabularies are in the file). Anything else
    /// is [`Error::TokenizerMismatch`](crate::Error::TokenizerMismatch).
    pub fn load(path: impl AsRef<Path>, tokenizer: Option<&Path>) -> Result<Self> {
        crate::persist::load(path.as_ref(), tokenizer)
    }
}
