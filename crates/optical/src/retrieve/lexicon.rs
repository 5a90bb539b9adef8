//! Word-by-word translation of queries through the co-occurrence statistics of a bitext.

use std::collections::HashMap;

use cooc::{
    CoocStats, CostTable, CountOptions, Measure, Model1Params, SentencePair, SrcTokenId,
    TgtTokenId, Tokenizer, WordOptions, split_words,
};

use crate::{Error, Result};

/// Options of [`Lexicon::from_bitext`]; the defaults are Dice, pairs seen at least twice.
#[derive(Debug, Clone, PartialEq)]
pub struct LexiconOptions {
    /// The association that picks each source word's English word: [`Measure::Dice`] (default)
    /// or [`Measure::Model1`] (IBM Model 1 `t(e | f)`, 5 EM iterations), or any other measure of
    /// [`cooc::assoc`].
    pub measure: Measure,
    /// A source word and its English word must co-occur in at least this many sentence pairs.
    pub min_count: u32,
    /// And their association must reach this value (in `[0, 1]`).
    pub min_score: f64,
    /// Keep each translated word next to its translation (names and cognates then match too).
    pub keep_source: bool,
}

impl Default for LexiconOptions {
    fn default() -> Self {
        Self {
            measure: Measure::Dice,
            min_count: 2,
            min_score: 0.0,
            keep_source: false,
        }
    }
}

impl LexiconOptions {
    /// Rejects a zero `min_count` or a `min_score` outside `[0, 1]`.
    pub fn check(&self) -> Result<()> {
        if self.min_count == 0 {
            return Err(Error::Config {
                field: "lexicon.min_count".into(),
                reason: "must be at least 1".into(),
            });
        }
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(Error::Config {
                field: "lexicon.min_score".into(),
                reason: format!("{} is outside [0, 1]", self.min_score),
            });
        }
        Ok(())
    }
}

/// A one-best bilingual dictionary from a bitext: each source word (lower-cased, as cooc's word
/// tokenizer splits it) maps to the English word it is most associated with.
///
/// ```
/// use optical::retrieve::{Lexicon, LexiconOptions};
///
/// let bitext = [
///     ("gida babba", "big house"),
///     ("gida karami", "small house"),
///     ("mota babba", "big car"),
///     ("mota karama", "small car"),
/// ];
/// let pairs = bitext
///     .iter()
///     .flat_map(|&(s, t)| std::iter::repeat_n((s.to_string(), t.to_string()), 2));
/// let lexicon = Lexicon::from_bitext(pairs, &LexiconOptions::default())?;
/// assert_eq!(lexicon.translate("Gida babba a Kano"), "house big a kano");
/// # Ok::<(), optical::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: HashMap<String, String>,
    keep_source: bool,
}

impl Lexicon {
    /// Counts sentence-level co-occurrence of `(source, English)` pairs with cooc's word
    /// tokenizer and keeps, for each source word, the English word of best association (ties:
    /// more co-occurrences, then the earlier word) that passes `options`' thresholds.
    pub fn from_bitext(
        pairs: impl IntoIterator<Item = (String, String)>,
        options: &LexiconOptions,
    ) -> Result<Self> {
        options.check()?;
        let pairs = pairs.into_iter().enumerate().map(|(i, (src, tgt))| {
            Ok(SentencePair {
                src,
                tgt,
                line: i as u64 + 1,
            })
        });
        let model1 = (options.measure == Measure::Model1).then(Model1Params::default);
        let stats = CoocStats::builder(Tokenizer::word(WordOptions::default()))
            .options(CountOptions {
                min_count: options.min_count,
                ..CountOptions::default()
            })
            .model1(model1)
            .count(pairs)?;
        let costs = CostTable::new(&stats, options.measure, 0.0)?;
        let (table, tok) = (stats.table(), stats.tokenizer());
        let mut entries = HashMap::new();
        for s in 0..table.n_rows() {
            let s = SrcTokenId(s as u32);
            let (tgts, counts) = table.row(s);
            let best = tgts
                .iter()
                .zip(counts)
                .filter(|&(_, &c)| c >= options.min_count)
                .map(|(&t, &c)| {
                    (
                        TgtTokenId(t),
                        c,
                        1.0 - f64::from(costs.cost(s, TgtTokenId(t))),
                    )
                })
                .filter(|&(_, _, score)| score > 0.0 && score >= options.min_score)
                .max_by(|a, b| {
                    a.2.total_cmp(&b.2)
                        .then(a.1.cmp(&b.1))
                        .then(b.0.0.cmp(&a.0.0))
                });
            if let Some((t, _, _)) = best {
                entries.insert(tok.src_token(s), tok.tgt_token(t));
            }
        }
        Ok(Self {
            entries,
            keep_source: options.keep_source,
        })
    }

    /// A lexicon from given entries (source word → English word, both lower-case).
    pub fn new(entries: HashMap<String, String>, keep_source: bool) -> Self {
        Self {
            entries,
            keep_source,
        }
    }

    /// The English word of a (lower-case) source word.
    pub fn get(&self, word: &str) -> Option<&str> {
        self.entries.get(word).map(String::as_str)
    }

    /// Number of source words with a translation.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no word has a translation.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `text` split into lower-cased words and punctuation, each word replaced by its English
    /// word (and kept too when built with `keep_source`); unknown words, such as names, are kept
    /// as they are. Tokens are joined by single spaces.
    pub fn translate(&self, text: &str) -> String {
        let mut out: Vec<&str> = Vec::new();
        let words = split_words(text, &WordOptions::default());
        for w in &words {
            match self.entries.get(w) {
                Some(e) => {
                    if self.keep_source {
                        out.push(w);
                    }
                    out.push(e);
                }
                None => out.push(w),
            }
        }
        out.join(" ")
    }
}
