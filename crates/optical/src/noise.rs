//! Query noise: seeded, composable, rate-controlled corruption of low-resource queries, for
//! measuring how retrieval degrades with the noise real users type.
//!
//! A [`QueryNoise`] is an ordered list of kinds, each with a relative weight, and a rate. Every
//! kind visits every word of the query in turn and corrupts it with probability
//! `rate × weight` (capped at 1):
//!
//! | kind | what happens to a hit word |
//! |---|---|
//! | `typo` | one character edit: insertion, deletion, substitution or swap of two adjacent characters (user-perceived characters: a letter keeps its combining marks); inserted and substituted letters are drawn from the letters of the query itself, so the script stays the query's |
//! | `diacritics` | combining marks removed after canonical decomposition (NFD), then recomposed: Yorùbá tone marks and dots below go (`ọ̀` → `o`), Hausa's hooked letters `ɓ ɗ ƙ` are letters and stay |
//! | `case` | lower-cased |
//! | `punctuation` | every character that is neither alphanumeric nor a combining mark removed |
//! | `code-switch` | replaced by its English word in a bitext [`Lexicon`] (words it does not know stay) |
//! | `drop` | removed (a query always keeps at least one word) |
//!
//! Noise is a pure function of (seed, query key, kinds, rate): the random numbers of each
//! (kind, word position) come from their own ChaCha8 stream, so a query's noise does not depend
//! on the order queries are processed in or on the other queries, and a word hit at rate `r` is
//! also hit at every rate above `r` (curves over rates are nested, not independent draws). Words
//! are split on whitespace and re-joined with single spaces; rate 0 returns the text unchanged.
//!
//! ```
//! use optical::noise::QueryNoise;
//!
//! let noise = QueryNoise::parse("diacritics+case")?.with_rate(1.0)?;
//! let noisy = noise.apply("Ọ̀rọ̀ Yorùbá ṣe pàtàkì", "q1", 0, None)?;
//! assert_eq!(noisy, "oro yoruba se pataki");
//! // Nothing at rate 0; the same query, seed and key always give the same noise.
//! let typos = QueryNoise::parse("typo+drop:0.5")?;
//! assert_eq!(typos.with_rate(0.0)?.apply("Ina ne Kano?", "q1", 7, None)?, "Ina ne Kano?");
//! let a = typos.with_rate(0.3)?.apply("Wanene shugaban kasar Najeriya a shekarar 2010?", "q1", 7, None)?;
//! let b = typos.with_rate(0.3)?.apply("Wanene shugaban kasar Najeriya a shekarar 2010?", "q1", 7, None)?;
//! assert_eq!(a, b);
//! # Ok::<(), optical::Error>(())
//! ```

use std::fmt;

use cooc::{WordOptions, split_words};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

use crate::retrieve::Lexicon;
use crate::{Error, Result};

/// One kind of query noise (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoiseKind {
    /// A character insertion, deletion, substitution or adjacent swap.
    Typo,
    /// Diacritic and tone-mark stripping.
    Diacritics,
    /// Casing loss.
    Case,
    /// Punctuation loss.
    Punctuation,
    /// English code-switching through a bitext lexicon.
    CodeSwitch,
    /// Word dropping.
    Drop,
}

impl NoiseKind {
    /// Every kind, in the order of the module docs.
    pub const ALL: [NoiseKind; 6] = [
        NoiseKind::Typo,
        NoiseKind::Diacritics,
        NoiseKind::Case,
        NoiseKind::Punctuation,
        NoiseKind::CodeSwitch,
        NoiseKind::Drop,
    ];

    /// The name in noise specifications.
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Typo => "typo",
            NoiseKind::Diacritics => "diacritics",
            NoiseKind::Case => "case",
            NoiseKind::Punctuation => "punctuation",
            NoiseKind::CodeSwitch => "code-switch",
            NoiseKind::Drop => "drop",
        }
    }

    /// Parses [`NoiseKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A noise model (kinds with relative weights) at a rate; see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryNoise {
    steps: Vec<(NoiseKind, f64)>,
    rate: f64,
}

impl QueryNoise {
    /// Parses `kind[:weight]+kind[:weight]+…` (weights in `(0, 1]`, default 1), e.g.
    /// `"typo+diacritics+code-switch:0.5"`, at rate 0 (see [`QueryNoise::with_rate`]).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: String| Error::Config {
            field: "noise".into(),
            reason,
        };
        let mut steps = Vec::new();
        for part in spec.split('+').map(str::trim) {
            let (name, weight) = match part.split_once(':') {
                Some((n, w)) => {
                    let w: f64 = w
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("`{part}`: weight `{w}` is not a number")))?;
                    (n.trim(), w)
                }
                None => (part, 1.0),
            };
            let kind = NoiseKind::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = NoiseKind::ALL.iter().map(|k| k.name()).collect();
                bad(format!(
                    "`{part}` in `{spec}`: unknown kind `{name}` (known: {})",
                    known.join(", ")
                ))
            })?;
            if !(weight > 0.0 && weight <= 1.0) {
                return Err(bad(format!(
                    "`{part}` in `{spec}`: weight must be in (0, 1], got {weight}"
                )));
            }
            if steps.iter().any(|(k, _)| *k == kind) {
                return Err(bad(format!("`{name}` appears twice in `{spec}`")));
            }
            steps.push((kind, weight));
        }
        Ok(Self { steps, rate: 0.0 })
    }

    /// The same model at `rate` (in `[0, 1]`).
    pub fn with_rate(&self, rate: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::Config {
                field: "noise.rate".into(),
                reason: format!("must be in [0, 1], got {rate}"),
            });
        }
        Ok(Self {
            steps: self.steps.clone(),
            rate,
        })
    }

    /// The rate.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The kinds and their weights, in order.
    pub fn steps(&self) -> &[(NoiseKind, f64)] {
        &self.steps
    }

    /// Whether [`QueryNoise::apply`] needs a lexicon (the model has `code-switch`).
    pub fn needs_lexicon(&self) -> bool {
        self.steps.iter().any(|(k, _)| *k == NoiseKind::CodeSwitch)
    }

    /// `text` with noise drawn from `(seed, key)`; `key` names the query (its id), so that each
    /// query gets its own noise. `lexicon` is required when the model has `code-switch`.
    pub fn apply(
        &self,
        text: &str,
        key: &str,
        seed: u64,
        lexicon: Option<&Lexicon>,
    ) -> Result<String> {
        if self.needs_lexicon() && lexicon.is_none() {
            return Err(Error::Config {
                field: "noise".into(),
                reason: "`code-switch` needs a bitext lexicon".into(),
            });
        }
        if self.rate == 0.0 {
            return Ok(text.to_owned());
        }
        let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            return Ok(text.to_owned());
        }
        let alphabet: Vec<&str> = text
            .graphemes(true)
            .filter(|g| g.chars().next().is_some_and(char::is_alphabetic))
            .collect();
        let digest = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(key.as_bytes())
            .finalize();
        let mut root = [0u8; 32];
        root.copy_from_slice(&digest);
        for (step, &(kind, weight)) in self.steps.iter().enumerate() {
            let p = (self.rate * weight).min(1.0);
            let mut kept = Vec::with_capacity(words.len());
            for (position, word) in words.iter().enumerate() {
                let mut rng = ChaCha8Rng::from_seed(root);
                rng.set_stream(((step as u64) << 32) | position as u64);
                let hit = rng.random::<f64>() < p;
                if !hit {
                    kept.push(Some(word.clone()));
                    continue;
                }
                let edited = match kind {
                    NoiseKind::Typo => Some(typo(word, &alphabet, &mut rng)),
                    NoiseKind::Diacritics => Some(strip_marks(word)),
                    NoiseKind::Case => Some(word.to_lowercase()),
                    NoiseKind::Punctuation => Some(
                        word.chars()
                            .filter(|&c| c.is_alphanumeric() || is_combining_mark(c))
                            .collect(),
                    ),
                    NoiseKind::CodeSwitch => Some(code_switch(word, lexicon)),
                    NoiseKind::Drop => None,
                };
                // A word an edit empties (a lone mark stripped, a lone comma) is gone, so that
                // the words stay non-empty and the fallback below always has one to keep.
                kept.push(edited.filter(|w| !w.is_empty()));
            }
            let before = std::mem::take(&mut words);
            words = kept.into_iter().flatten().collect();
            if words.is_empty() {
                // A query keeps at least one word: the first one as it was before this kind.
                words.push(before[0].clone());
            }
        }
        Ok(words.join(" "))
    }
}

impl fmt::Display for QueryNoise {
    /// The specification [`QueryNoise::parse`] reads (the rate is not part of it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, weight)) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(kind.name())?;
            if *weight < 1.0 {
                write!(f, ":{weight}")?;
            }
        }
        Ok(())
    }
}

/// One character edit of `word`, on user-perceived characters.
fn typo(word: &str, alphabet: &[&str], rng: &mut ChaCha8Rng) -> String {
    let mut g: Vec<&str> = word.graphemes(true).collect();
    let letter = |rng: &mut ChaCha8Rng| -> &str {
        if alphabet.is_empty() {
            "a"
        } else {
            alphabet[rng.random_range(0..alphabet.len())]
        }
    };
    // Deletion and swap need two characters; insertion and substitution always apply.
    let ops = if g.len() >= 2 { 4 } else { 2 };
    match rng.random_range(0..ops) {
        0 => {
            let at = rng.random_range(0..=g.len());
            g.insert(at, letter(rng));
        }
        1 => {
            let at = rng.random_range(0..g.len());
            g[at] = letter(rng);
        }
        2 => {
            g.remove(rng.random_range(0..g.len()));
        }
        _ => {
            let at = rng.random_range(0..g.len() - 1);
            g.swap(at, at + 1);
        }
    }
    g.concat()
}

/// `word` without combining marks (NFD, marks removed, NFC).
fn strip_marks(word: &str) -> String {
    word.nfd()
        .filter(|&c| !is_combining_mark(c))
        .nfc()
        .collect()
}

/// `word` replaced by the English word of its first word token in `lexicon`, if it has one.
fn code_switch(word: &str, lexicon: Option<&Lexicon>) -> String {
    // The lexicon's own word splitting (lower-cased words, punctuation apart).
    let tokens = split_words(word, &WordOptions::default());
    lexicon
        .zip(tokens.iter().find(|t| t.chars().any(char::is_alphanumeric)))
        .and_then(|(lex, t)| lex.get(t))
        .map_or_else(|| word.to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_keep_graphemes_whole() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let w = typo("ọ̀rọ̀", &["ọ̀", "r"], &mut rng);
            // Every combining mark still follows a base letter.
            assert!(!w.chars().next().is_some_and(is_combining_mark), "{w}");
            assert!(w.graphemes(true).all(|g| ["ọ̀", "r"].contains(&g)), "{w}");
        }
    }

    #[test]
    fn marks_go_and_hooked_letters_stay() {
        assert_eq!(strip_marks("Ọ̀rọ̀"), "Oro");
        assert_eq!(strip_marks("ụlọ"), "ulo");
        assert_eq!(strip_marks("ɓaƙi ɗan"), "ɓaƙi ɗan");
        assert_eq!(strip_marks("ẹ́"), "e");
    }
}
