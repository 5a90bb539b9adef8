//! Naming an evaluation collection on a command line or in a config: `afriqa:hau`,
//! `afriqa:yor:dev`, `afriqa:twi:test:all`, `xquad:de`, `xquad:de:paragraph`, `flores:hau`.
//!
//! ```
//! use optical::data::CollectionSpec;
//!
//! let spec: CollectionSpec = "afriqa:hau:dev".parse()?;
//! assert_eq!(spec.to_string(), "afriqa:hau:dev");
//! assert_eq!(spec.language(), "hau");
//! let xq: CollectionSpec = "xquad:de".parse()?;
//! assert_eq!(xq.corpus_key(), "xquad-r/en/sentence");
//! # Ok::<(), optical::Error>(())
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::afriqa::QrelsVariant;
use super::xquad::Granularity;
use super::{EvalCollection, afriqa, flores, xquad};
use crate::{Error, Result};

/// One evaluation collection: which reader, which language, which split or variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CollectionSpec {
    /// AfriQA-R: native questions of `lang` in `split` against the shared English passage pool.
    Afriqa {
        /// Language code as in the file names (`hau`, `yor`, …).
        lang: String,
        /// `train`, `dev` or `test`.
        split: String,
        /// Strict (answer span checks out) or all rows.
        variant: QrelsVariant,
    },
    /// XQuAD-R: questions in `lang` against the English sentences or paragraphs.
    Xquad {
        /// Language code as in the file names (`de`, `zh`, …).
        lang: String,
        /// Sentences (standard) or paragraphs.
        granularity: Granularity,
    },
    /// FLORES-200 devtest line retrieval into English.
    Flores {
        /// A bare (`hau`) or full (`hau_Latn`) FLORES code.
        code: String,
    },
}

impl CollectionSpec {
    /// Reads the collection from `root`.
    pub fn load(&self, root: &Path) -> Result<EvalCollection> {
        match self {
            CollectionSpec::Afriqa {
                lang,
                split,
                variant,
            } => afriqa::load(root, lang, split, *variant),
            CollectionSpec::Xquad { lang, granularity } => xquad::load(root, lang, *granularity),
            CollectionSpec::Flores { code } => flores::load_devtest(root, code),
        }
    }

    /// Whether query `i` and document `i` are translations of each other (FLORES-200 devtest
    /// bitext retrieval), so that alignment diagnostics of parallel pairs apply.
    pub fn is_parallel(&self) -> bool {
        matches!(self, CollectionSpec::Flores { .. })
    }

    /// Whether the column name `column` (a collection as written, or as displayed) is a
    /// parallel collection; `false` for anything that does not parse.
    pub fn is_parallel_column(column: &str) -> bool {
        column
            .parse::<CollectionSpec>()
            .is_ok_and(|s| s.is_parallel())
    }

    /// The language of the queries, as the bitext readers take it (aliases are resolved there).
    pub fn language(&self) -> &str {
        match self {
            CollectionSpec::Afriqa { lang, .. } | CollectionSpec::Xquad { lang, .. } => lang,
            CollectionSpec::Flores { code } => code.split('_').next().unwrap_or(code),
        }
    }

    /// The collection family: `afriqa`, `xquad` or `flores`.
    pub fn family(&self) -> &'static str {
        match self {
            CollectionSpec::Afriqa { .. } => "afriqa",
            CollectionSpec::Xquad { .. } => "xquad",
            CollectionSpec::Flores { .. } => "flores",
        }
    }

    /// A name for the document pool, shared by every spec that ranks the same documents (so a
    /// document-embedding cache serves them all).
    pub fn corpus_key(&self) -> String {
        match self {
            CollectionSpec::Afriqa { .. } => "afriqa-r/passages".into(),
            CollectionSpec::Xquad { granularity, .. } => match granularity {
                Granularity::Sentence => "xquad-r/en/sentence".into(),
                Granularity::Paragraph => "xquad-r/en/paragraph".into(),
            },
            CollectionSpec::Flores { .. } => "flores200/devtest/eng_Latn".into(),
        }
    }

    /// A file-name-safe form of [`Display`](fmt::Display): `afriqa-hau-test`.
    pub fn slug(&self) -> String {
        self.to_string().replace(':', "-")
    }
}

impl fmt::Display for CollectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CollectionSpec::Afriqa {
                lang,
                split,
                variant,
            } => {
                write!(f, "afriqa:{lang}:{split}")?;
                if *variant == QrelsVariant::All {
                    write!(f, ":all")?;
                }
                Ok(())
            }
            CollectionSpec::Xquad { lang, granularity } => {
                write!(f, "xquad:{lang}")?;
                if *granularity == Granularity::Paragraph {
                    write!(f, ":paragraph")?;
                }
                Ok(())
            }
            CollectionSpec::Flores { code } => write!(f, "flores:{code}"),
        }
    }
}

impl FromStr for CollectionSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Config {
            field: format!("collection `{s}`"),
            reason: format!(
                "{reason}; expected afriqa:LANG[:SPLIT][:all], xquad:LANG[:paragraph] or flores:CODE"
            ),
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        let lang = parts
            .get(1)
            .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| bad("missing or malformed language"))?
            .to_string();
        match parts[0] {
            "afriqa" => {
                let split = parts.get(2).copied().unwrap_or("test");
                if !["train", "dev", "test"].contains(&split) {
                    return Err(bad("split must be train, dev or test"));
                }
                let variant = match parts.get(3).copied() {
                    None | Some("strict") => QrelsVariant::Strict,
                    Some("all") => QrelsVariant::All,
                    Some(_) => return Err(bad("variant must be strict or all")),
                };
                if parts.len() > 4 {
                    return Err(bad("too many fields"));
                }
                Ok(CollectionSpec::Afriqa {
                    lang,
                    split: split.into(),
                    variant,
                })
            }
            "xquad" => {
                let granularity = match parts.get(2).copied() {
                    None | Some("sentence") => Granularity::Sentence,
                    Some("paragraph") => Granularity::Paragraph,
                    Some(_) => return Err(bad("granularity must be sentence or paragraph")),
                };
                if parts.len() > 3 {
                    return Err(bad("too many fields"));
                }
                Ok(CollectionSpec::Xquad { lang, granularity })
            }
            "flores" => {
                if parts.len() > 2 {
                    return Err(bad("too many fields"));
                }
                Ok(CollectionSpec::Flores { code: lang })
            }
            _ => Err(bad("unknown collection family")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults() {
        for s in [
            "afriqa:hau:test",
            "afriqa:twi:dev:all",
            "xquad:de",
            "xquad:zh:paragraph",
            "flores:hau_Latn",
        ] {
            let spec: CollectionSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        let spec: CollectionSpec = "afriqa:yor".parse().unwrap();
        assert_eq!(spec.to_string(), "afriqa:yor:test");
        assert_eq!(spec.slug(), "afriqa-yor-test");
        assert_eq!(
            "flores:hau_Latn"
                .parse::<CollectionSpec>()
                .unwrap()
                .language(),
            "hau"
        );
    }

    #[test]
    fn rejects_malformed_names() {
        for s in [
            "",
            "afriqa",
            "afriqa:",
            "afriqa:hau:val",
            "afriqa:hau:test:x",
            "xquad:de:doc",
            "mrtydi:sw",
            "afriqa:../x",
        ] {
            let err = s.parse::<CollectionSpec>().unwrap_err().to_string();
            assert!(err.contains("expected afriqa:"), "{s}: {err}");
        }
    }
}
