//! Tokenisation: Unicode word tokens with string interning, or the subword ids of a Hugging Face
//! `tokenizer.json` (the same ids the encoders see, special tokens excluded).

use std::collections::HashSet;
use std::fmt;
use std::hash::Hasher;
use std::path::Path;

use indexmap::IndexSet;
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use crate::bitext::{Fnv64, read_all};
use crate::{Error, Result};

/// A source-side token id (a word id of the source vocabulary, or a subword id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SrcTokenId(pub u32);

/// A target-side token id (a word id of the target vocabulary, or a subword id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TgtTokenId(pub u32);

impl SrcTokenId {
    /// A word never seen while counting (word mode); its costs are all 1.
    pub const UNKNOWN: Self = Self(u32::MAX);
}

impl TgtTokenId {
    /// A word never seen while counting (word mode); its costs are all 1.
    pub const UNKNOWN: Self = Self(u32::MAX);
}

/// How word tokenisation treats punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Punctuation {
    /// Split on whitespace only; punctuation stays attached to words.
    Keep,
    /// Every punctuation/symbol character becomes a token of its own.
    Split,
    /// Punctuation/symbol characters are dropped (they still separate words).
    Strip,
}

/// Options of word tokenisation.
///
/// A *word character* is one for which [`char::is_alphanumeric`] holds or a combining mark
/// (U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF, U+20D0–20FF, U+FE20–FE2F, as in decomposed Yorùbá
/// tone marks); any other non-whitespace character is punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WordOptions {
    /// Lower-case with [`str::to_lowercase`].
    pub lowercase: bool,
    /// Punctuation rule.
    pub punctuation: Punctuation,
}

impl Default for WordOptions {
    fn default() -> Self {
        Self {
            lowercase: true,
            punctuation: Punctuation::Split,
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c as u32, 0x300..=0x36f | 0x1ab0..=0x1aff | 0x1dc0..=0x1dff | 0x20d0..=0x20ff | 0xfe20..=0xfe2f)
}

/// Splits `text` into word tokens according to `options`.
///
/// ```
/// use cooc::{Punctuation, WordOptions, split_words};
/// let o = WordOptions { lowercase: true, punctuation: Punctuation::Split };
/// assert_eq!(split_words("Hello, World!", &o), ["hello", ",", "world", "!"]);
/// ```
pub fn split_words(text: &str, options: &WordOptions) -> Vec<String> {
    let mut out = Vec::new();
    for_each_word(text, options, |w| out.push(w.to_owned()));
    out
}

/// Calls `f` on every word token of `text`, in order, without allocating per token (one
/// lower-cased copy of `text` when `options.lowercase`).
fn for_each_word(text: &str, options: &WordOptions, mut f: impl FnMut(&str)) {
    let text = if options.lowercase {
        if text.is_ascii() {
            std::borrow::Cow::Owned(text.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Owned(text.to_lowercase())
        }
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    for chunk in text.split_whitespace() {
        if options.punctuation == Punctuation::Keep {
            f(chunk);
            continue;
        }
        let mut start = None;
        for (i, c) in chunk.char_indices() {
            // ASCII fast path; `is_word_char` agrees with it on ASCII.
            let word = if c.is_ascii() {
                c.is_ascii_alphanumeric()
            } else {
                is_word_char(c)
            };
            if word {
                start.get_or_insert(i);
            } else {
                if let Some(s) = start.take() {
                    f(&chunk[s..i]);
                }
                if options.punctuation == Punctuation::Split {
                    f(&chunk[i..i + c.len_utf8()]);
                }
            }
        }
        if let Some(s) = start {
            f(&chunk[s..]);
        }
    }
}

/// The words of many texts as ids of a local vocabulary: text `k`'s words are
/// `ids[offsets[k]..offsets[k + 1]]`, local id `i` is `words[i]`, and local ids are numbered in
/// order of first occurrence, so interning `words` in order into a global [`Interner`] gives
/// the same global ids as interning every token in order.
#[derive(Debug, Default)]
struct LocalWords {
    /// The distinct words in order of first occurrence (local id = index).
    words: IndexSet<String, FxBuildHasher>,
    ids: Vec<u32>,
    offsets: Vec<usize>,
}

impl LocalWords {
    fn push(&mut self, text: &str, options: &WordOptions) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let Self { words, ids, .. } = self;
        for_each_word(text, options, |w| {
            let id = match words.get_index_of(w) {
                Some(id) => id,
                None => words.insert_full(w.to_owned()).0,
            };
            ids.push(id as u32);
        });
        self.offsets.push(self.ids.len());
    }

    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The global id of each local word, where `global` knows it.
    fn lookup(&self, global: &Interner) -> Vec<Option<u32>> {
        self.words.iter().map(|w| global.get(w)).collect()
    }

    /// Completes a [`LocalWords::lookup`] by interning the unknown words in order.
    fn complete(&self, known: Vec<Option<u32>>, global: &mut Interner) -> Vec<u32> {
        self.words
            .iter()
            .zip(known)
            .map(|(w, k)| k.unwrap_or_else(|| global.intern(w)))
            .collect()
    }

    /// The texts' ids under `remap` (local id → global id), in order.
    fn map_ids<'a>(&'a self, remap: &'a [u32]) -> impl Iterator<Item = Vec<u32>> + 'a {
        (0..self.len()).map(move |k| {
            self.ids[self.offsets[k]..self.offsets[k + 1]]
                .iter()
                .map(|&l| remap[l as usize])
                .collect()
        })
    }
}

/// String interning: word ↔ dense id (id = insertion order).
#[derive(Debug, Clone, Default)]
pub struct Interner {
    words: IndexSet<String, FxBuildHasher>,
}

impl Interner {
    /// An interner holding `words` with ids `0..words.len()`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first word that repeats an earlier one (its id
    /// would be ambiguous).
    ///
    /// ```
    /// let i = cooc::Interner::from_words(["ruwa", "water"].map(String::from))?;
    /// assert_eq!(i.get("water"), Some(1));
    /// assert!(cooc::Interner::from_words(["a", "b", "a"].map(String::from)).is_err());
    /// # Ok::<(), cooc::Error>(())
    /// ```
    pub fn from_words(words: impl IntoIterator<Item = String>) -> Result<Self> {
        let mut interner = Self::default();
        for (k, word) in words.into_iter().enumerate() {
            let (id, new) = interner.words.insert_full(word);
            if !new {
                return Err(Error::InvalidParameter {
                    name: "words",
                    reason: format!(
                        "word {k} ({:?}) repeats word {id}",
                        interner.words[id].as_str()
                    ),
                });
            }
        }
        Ok(interner)
    }

    /// The id of `word`, adding it if new.
    pub fn intern(&mut self, word: &str) -> u32 {
        match self.words.get_index_of(word) {
            Some(id) => id as u32,
            None => self.words.insert_full(word.to_owned()).0 as u32,
        }
    }

    /// The id of `word`, if known.
    pub fn get(&self, word: &str) -> Option<u32> {
        self.words.get_index_of(word).map(|id| id as u32)
    }

    /// The word of `id`.
    pub fn word(&self, id: u32) -> Option<&str> {
        self.words.get_index(id as usize).map(String::as_str)
    }

    /// All words, by id.
    pub fn words(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.words.iter().map(String::as_str)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no word was interned.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// What produced the token ids of a statistics table; recorded in saved files and checked on
/// load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerIdentity {
    /// Word tokens with these options.
    Word(WordOptions),
    /// Subword ids of a `tokenizer.json` whose bytes hash (FNV-1a 64) to this value.
    Subword {
        /// FNV-1a 64 of the `tokenizer.json` bytes.
        hash: u64,
    },
}

impl fmt::Display for TokenizerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(o) => write!(
                f,
                "word(lowercase={}, punctuation={:?})",
                o.lowercase, o.punctuation
            ),
            Self::Subword { hash } => write!(f, "tokenizer.json#{hash:016x}"),
        }
    }
}

/// A subword tokenizer loaded from a Hugging Face `tokenizer.json`.
///
/// Encodes without special tokens (`add_special_tokens = false`, and any special added token
/// typed in the text, such as a literal `[CLS]`, is dropped), with the file's padding and
/// truncation switched off.
pub struct SubwordTokenizer {
    inner: tokenizers::Tokenizer,
    special: HashSet<u32>,
    hash: u64,
}

impl fmt::Debug for SubwordTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubwordTokenizer")
            .field("hash", &format_args!("{:016x}", self.hash))
            .field("special", &self.special.len())
            .finish()
    }
}

impl SubwordTokenizer {
    /// Loads `tokenizer.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_all(path)?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            Error::Tokenizer { source, .. } => Error::Tokenizer {
                what: format!("{}", path.display()),
                source,
            },
            e => e,
        })
    }

    /// Parses the bytes of a `tokenizer.json`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut inner =
            tokenizers::Tokenizer::from_bytes(bytes).map_err(|source| Error::Tokenizer {
                what: "from bytes".into(),
                source,
            })?;
        // Statistics count whole sentences: no padding ids, no truncation at the encoder's
        // maximum length (the ids of the tokens kept are the same either way).
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|source| Error::Tokenizer {
                what: "disabling truncation".into(),
                source,
            })?;
        let special = inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| id)
            .collect();
        let mut h = Fnv64::default();
        h.write(bytes);
        Ok(Self {
            inner,
            special,
            hash: h.finish(),
        })
    }

    /// The ids of `text` without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|source| Error::Tokenizer {
                what: format!("encoding {:?}", text.chars().take(40).collect::<String>()),
                source,
            })?;
        Ok(enc
            .get_ids()
            .iter()
            .copied()
            .filter(|id| !self.special.contains(id))
            .collect())
    }

    /// The token string of `id`.
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The identity recorded in statistics files.
    pub fn identity(&self) -> TokenizerIdentity {
        TokenizerIdentity::Subword { hash: self.hash }
    }
}

/// Turns sentences into token ids, in word or subword mode.
#[derive(Debug)]
pub enum Tokenizer {
    /// Word tokens; one interner per side.
    Word {
        /// Options.
        options: WordOptions,
        /// Source vocabulary.
        src: Interner,
        /// Target vocabulary.
        tgt: Interner,
    },
    /// Subword ids of one `tokenizer.json`, shared by both sides.
    Subword(Box<SubwordTokenizer>),
}

impl Tokenizer {
    /// Word mode with empty vocabularies.
    pub fn word(options: WordOptions) -> Self {
        Self::Word {
            options,
            src: Interner::default(),
            tgt: Interner::default(),
        }
    }

    /// Subword mode from a `tokenizer.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::Subword(Box::new(SubwordTokenizer::load(path)?)))
    }

    /// The identity recorded in statistics files.
    pub fn identity(&self) -> TokenizerIdentity {
        match self {
            Self::Word { options, .. } => TokenizerIdentity::Word(*options),
            Self::Subword(t) => t.identity(),
        }
    }

    /// Source ids of `text`; unseen words map to [`SrcTokenId::UNKNOWN`].
    pub fn encode_src(&self, text: &str) -> Result<Vec<SrcTokenId>> {
        Ok(match self {
            Self::Word { options, src, .. } => {
                let mut ids = Vec::new();
                for_each_word(text, options, |w| {
                    ids.push(src.get(w).map_or(SrcTokenId::UNKNOWN, SrcTokenId));
                });
                ids
            }
            Self::Subword(t) => t.encode(text)?.into_iter().map(SrcTokenId).collect(),
        })
    }

    /// Target ids of `text`; unseen words map to [`TgtTokenId::UNKNOWN`].
    pub fn encode_tgt(&self, text: &str) -> Result<Vec<TgtTokenId>> {
        Ok(match self {
            Self::Word { options, tgt, .. } => {
                let mut ids = Vec::new();
                for_each_word(text, options, |w| {
                    ids.push(tgt.get(w).map_or(TgtTokenId::UNKNOWN, TgtTokenId));
                });
                ids
            }
            Self::Subword(t) => t.encode(text)?.into_iter().map(TgtTokenId).collect(),
        })
    }

    /// Encodes a batch of pairs in parallel, adding new words to the vocabularies (word mode).
    pub fn encode_pairs_growing(
        &mut self,
        pairs: &[(String, String)],
    ) -> Result<Vec<(Vec<u32>, Vec<u32>)>> {
        match self {
            Self::Word { options, src, tgt } => {
                let o = *options;
                // Split and intern locally in parallel, then intern each part's distinct
                // words in order (ids are global first-occurrence order, independent of the
                // thread count).
                let per = pairs
                    .len()
                    .div_ceil(rayon::current_num_threads().max(1) * 4)
                    .max(64);
                let parts: Vec<(LocalWords, LocalWords)> = pairs
                    .par_chunks(per)
                    .map(|sub| {
                        let (mut s, mut t) = (LocalWords::default(), LocalWords::default());
                        for (a, b) in sub {
                            s.push(a, &o);
                            t.push(b, &o);
                        }
                        (s, t)
                    })
                    .collect();
                // Look the parts' words up in parallel; only words new to the vocabularies
                // are interned, serially and in order, and the ids are mapped in parallel.
                let (src_known, tgt_known) = (&*src, &*tgt);
                let known: Vec<_> = parts
                    .par_iter()
                    .map(|(s, t)| (s.lookup(src_known), t.lookup(tgt_known)))
                    .collect();
                let remaps: Vec<_> = parts
                    .iter()
                    .zip(known)
                    .map(|((s, t), (ks, kt))| (s.complete(ks, src), t.complete(kt, tgt)))
                    .collect();
                let per_part: Vec<Vec<_>> = parts
                    .par_iter()
                    .zip(&remaps)
                    .map(|((s, t), (rs, rt))| s.map_ids(rs).zip(t.map_ids(rt)).collect())
                    .collect();
                parts.into_par_iter().for_each(drop);
                Ok(per_part.into_iter().flatten().collect())
            }
            Self::Subword(t) => pairs
                .par_iter()
                .map(|(s, g)| Ok((t.encode(s)?, t.encode(g)?)))
                .collect(),
        }
    }

    /// Human-readable source token.
    pub fn src_token(&self, id: SrcTokenId) -> String {
        match self {
            Self::Word { src, .. } => src.word(id.0).unwrap_or("<unk>").to_owned(),
            Self::Subword(t) => t.token(id.0).unwrap_or_else(|| "<unk>".into()),
        }
    }

    /// Human-readable target token.
    pub fn tgt_token(&self, id: TgtTokenId) -> String {
        match self {
            Self::Word { tgt, .. } => tgt.word(id.0).unwrap_or("<unk>").to_owned(),
            Self::Subword(t) => t.token(id.0).unwrap_or_else(|| "<unk>".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_rules() {
        let keep = WordOptions {
            lowercase: false,
            punctuation: Punctuation::Keep,
        };
        assert_eq!(split_words(" A,b  c ", &keep), ["A,b", "c"]);
        let strip = WordOptions {
            lowercase: true,
            punctuation: Punctuation::Strip,
        };
        assert_eq!(split_words("Ẹ̀rín, abàmì!", &strip), ["ẹ̀rín", "abàmì"]);
        // Decomposed tone marks stay inside the word.
        assert_eq!(split_words("e\u{301}e\u{300}", &strip).len(), 1);
    }

    #[test]
    fn interner_roundtrip() {
        let mut i = Interner::default();
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.intern("b"), 1);
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.word(1), Some("b"));
        let j = Interner::from_words(i.words().map(str::to_owned)).unwrap();
        assert_eq!(j.get("b"), Some(1));
        assert_eq!(j.words().collect::<Vec<_>>(), ["a", "b"]);
        let dup = Interner::from_words(["a", "b", "a"].map(String::from)).unwrap_err();
        assert!(
            dup.to_string().contains("word 2 (\"a\") repeats word 0"),
            "{dup}"
        );
    }
}
