//! [`CoocStats`]: a tokenizer, its co-occurrence table and (optionally) IBM Model 1, built from
//! a streamed bitext, saved and loaded atomically.

use std::path::Path;
use std::sync::mpsc;

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
        let keep_corpus = model1.is_some();
        // Reading is sequential; tokenising and counting are parallel. The calling thread
        // reads the next chunk while a worker tokenises and counts the current one (at most
        // one chunk waits in between), so the reader never leaves the cores idle and `pairs`
        // needs not be `Send`.
        std::thread::scope(|scope| -> Result<()> {
            let (chunks, received) = mpsc::sync_channel::<Vec<(String, String)>>(1);
            let (tokenizer, counter, corpus, bar) =
                (&mut tokenizer, &mut counter, &mut corpus, &bar);
            let worker = scope.spawn(move || -> Result<()> {
                for chunk in received {
                    let ids = tokenizer.encode_pairs_growing(&chunk)?;
                    counter.add(&ids);
                    bar.inc(chunk.len() as u64);
                    if keep_corpus {
                        corpus.extend(ids);
                    }
                }
                Ok(())
            });
            let read = read_chunks(pairs, options.chunk_size, |chunk| {
                chunks.send(chunk).is_ok()
            });
            drop(chunks);
            // A failed worker stops the reader (its channel closes); its error comes first.
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            read
        })?;
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

/// Reads `pairs` into chunks of `size` and hands each to `send` until the input ends, a pair is
/// an error, or `send` returns false.
fn read_chunks<I>(
    pairs: I,
    size: usize,
    mut send: impl FnMut(Vec<(String, String)>) -> bool,
) -> Result<()>
where
    I: IntoIterator<Item = Result<SentencePair>>,
{
    let mut iter = pairs.into_iter();
    loop {
        let mut chunk = Vec::with_capacity(size);
        for p in iter.by_ref() {
            let p = p?;
            chunk.push((p.src, p.tgt));
            if chunk.len() == size {
                break;
            }
        }
        if chunk.is_empty() || !send(chunk) {
            return Ok(());
        }
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
