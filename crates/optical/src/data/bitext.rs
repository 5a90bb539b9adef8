//! Training bitext of one language against English, assembled from the sources under a data
//! root: FLORES-200 **dev** (never devtest), NTREX-128, LAFAND-MT train+dev, MENYO-20k train+dev
//! (Yoruba) and, on request, Tatoeba and the AfriQA **train**-split questions with their human
//! English translations (in-domain, question-style text for domain adaptation). Pairs are deduplicated across sources, checked against the
//! evaluation texts by a [`LeakGuard`], and optionally cut to a budget: the first `N` pairs after
//! a seeded shuffle.
//!
//! Languages are not a fixed list: a code names whatever files exist for it in the sources'
//! naming (`hau` finds `flores200/dev/hau_Latn.dev.gz`, `ntrex128/newstest2019-ref.hau.txt.gz`,
//! `lafand/en-hau/`, `tatoeba-laser/tatoeba.hau-eng.*`). The sources spell a few languages
//! differently (Swahili is `swh` in FLORES and Tatoeba, `swa` in NTREX, LAFAND and AfriQA);
//! [`code_aliases`] lists those spellings, so any of them can be given.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use cooc::bitext::{LinePairs, SentencePair, TsvOptions, TsvPairs};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::{afriqa, flores, lines::read_lines, xquad};
use crate::{Error, Result};

/// Where a pair came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// FLORES-200 dev (997 lines). Its devtest split is a test set and is never a source.
    FloresDev,
    /// NTREX-128 (1,997 lines of news).
    Ntrex,
    /// LAFAND-MT news, train and dev splits (its test split is left out).
    Lafand,
    /// MENYO-20k English–Yoruba, train and dev splits (test left out).
    Menyo,
    /// LASER Tatoeba pairs. Off by default: Tatoeba also serves as an evaluation set.
    Tatoeba,
    /// AfriQA train-split questions (`question_lang`) with their human English translations
    /// (`question_translated`): in-domain bitext for domain-adaptive distillation. Off by default.
    /// The dev and test questions and every passage stay in the [`LeakGuard`].
    AfriqaTrain,
}

impl Source {
    /// The default training sources.
    pub const DEFAULT: [Source; 4] = [
        Source::FloresDev,
        Source::Ntrex,
        Source::Lafand,
        Source::Menyo,
    ];

    /// A short name for reports and configs.
    pub fn name(self) -> &'static str {
        match self {
            Source::FloresDev => "flores-dev",
            Source::Ntrex => "ntrex",
            Source::Lafand => "lafand",
            Source::Menyo => "menyo",
            Source::Tatoeba => "tatoeba",
            Source::AfriqaTrain => "afriqa-train",
        }
    }

    /// Every source.
    pub const ALL: [Source; 6] = [
        Source::FloresDev,
        Source::Ntrex,
        Source::Lafand,
        Source::Menyo,
        Source::Tatoeba,
        Source::AfriqaTrain,
    ];

    /// Parses [`Source::name`].
    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Other spellings of the same language across the sources (ISO 639-3 individual versus macro
/// language codes, ISO 639-1, NTREX's region suffix). A code not listed is its own only spelling.
pub fn code_aliases(code: &str) -> Vec<&str> {
    const GROUPS: &[&[&str]] = &[
        &["swa", "swh", "sw"],
        &["ara", "arb", "ar"],
        &["zho", "cmn", "zho-CN", "zh"],
        &["tgl", "fil", "tl"],
        &["deu", "de"],
        &["spa", "es"],
        &["rus", "ru"],
        &["hin", "hi"],
        &["tha", "th"],
        &["tur", "tr"],
        &["vie", "vi"],
        &["yor", "yo"],
        &["hau", "ha"],
        &["ibo", "ig"],
        &["amh", "am"],
        &["som", "so"],
        &["mar", "mr"],
    ];
    GROUPS.iter().find(|g| g.contains(&code)).map_or_else(
        || vec![code],
        |g| {
            let mut v = vec![code];
            v.extend(g.iter().copied().filter(|c| *c != code));
            v
        },
    )
}

/// One training pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitextPair {
    /// The low-resource (non-English) side.
    pub lrl: String,
    /// The English side.
    pub en: String,
    /// Where it came from.
    pub source: Source,
}

/// What [`load`] read, kept and dropped.
#[derive(Debug, Clone, Default)]
pub struct BitextReport {
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// Pairs read per source (before deduplication and filtering).
    pub read: Vec<(Source, usize)>,
    /// Pairs dropped as exact repeats of an earlier pair.
    pub duplicates: usize,
    /// Pairs dropped because one side is empty.
    pub empty: usize,
    /// Pairs dropped because one side occurs in an evaluation text.
    pub leaked: usize,
    /// Pairs left out by the budget.
    pub over_budget: usize,
}

/// The bitext of one language.
#[derive(Debug, Clone)]
pub struct Bitext {
    /// The language code as given.
    pub lang: String,
    /// The pairs, in seeded-shuffle order when a budget was given, else in source order.
    pub pairs: Vec<BitextPair>,
    /// Counts of what was read and dropped.
    pub report: BitextReport,
}

/// What to read.
#[derive(Debug, Clone)]
pub struct BitextSpec {
    /// Language code (any spelling in [`code_aliases`]).
    pub lang: String,
    /// Sources, in order ([`Source::DEFAULT`] by default).
    pub sources: Vec<Source>,
    /// Keep only the first `budget` pairs after a shuffle seeded with `seed`.
    pub budget: Option<usize>,
    /// Seed of the budget shuffle.
    pub seed: u64,
    /// Sources read in full *after* the budget and appended (in-domain pairs added to a budgeted
    /// sample, e.g. [`Source::AfriqaTrain`] for domain adaptation); deduplicated and
    /// leak-checked like the rest.
    pub in_domain: Vec<Source>,
}

impl BitextSpec {
    /// The default sources, no budget.
    pub fn new(lang: impl Into<String>) -> Self {
        Self {
            lang: lang.into(),
            sources: Source::DEFAULT.to_vec(),
            budget: None,
            seed: 0,
            in_domain: Vec::new(),
        }
    }

    /// Keeps the first `budget` pairs after a shuffle seeded with `seed`.
    pub fn budget(mut self, budget: usize, seed: u64) -> Self {
        self.budget = Some(budget);
        self.seed = seed;
        self
    }

    /// Reads these sources instead of the default ones.
    pub fn sources(mut self, sources: Vec<Source>) -> Self {
        self.sources = sources;
        self
    }

    /// Appends every pair of `sources` after the budgeted sample (see [`BitextSpec::in_domain`]).
    pub fn in_domain(mut self, sources: Vec<Source>) -> Self {
        self.in_domain = sources;
        self
    }
}

/// Every evaluation text under a data root, normalised (case-folded, whitespace collapsed), so
/// that no training pair can contain one: FLORES-200 devtest in every language, every AfriQA
/// passage and every AfriQA dev and test question (native and English; see
/// [`afriqa::evaluation_texts`]), every XQuAD-R question and English sentence.
#[derive(Debug, Clone, Default)]
pub struct LeakGuard {
    texts: HashSet<String>,
}

impl LeakGuard {
    /// Collects the evaluation texts found under `root` (sets whose files are absent add nothing).
    pub fn from_root(root: &Path) -> Result<Self> {
        let mut guard = Self::default();
        let devtest = root.join("bitext/flores200/devtest");
        if let Ok(entries) = std::fs::read_dir(&devtest) {
            for entry in entries.flatten() {
                guard.extend(read_lines(&entry.path())?);
            }
        }
        if root.join("eval/afriqa").exists() {
            guard.extend(afriqa::evaluation_texts(root)?);
        }
        if root.join("eval/xquad-r").exists() {
            let mut sentences_done = false;
            for lang in xquad::available(root)? {
                let c = xquad::load(root, &lang, xquad::Granularity::Sentence)?;
                if !sentences_done {
                    guard.extend(c.documents.into_iter().map(|d| d.text));
                    sentences_done = true;
                }
                guard.extend(c.queries.into_iter().map(|t| t.text));
            }
        }
        Ok(guard)
    }

    /// Adds texts.
    pub fn extend(&mut self, texts: impl IntoIterator<Item = String>) {
        self.texts.extend(
            texts
                .into_iter()
                .map(|t| normalise(&t))
                .filter(|t| !t.is_empty()),
        );
    }

    /// Whether `text` is (after normalisation) an evaluation text.
    pub fn contains(&self, text: &str) -> bool {
        self.texts.contains(&normalise(text))
    }

    /// Number of distinct evaluation texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether no text was collected.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The files of `source` for `lang` as `(lrl, english)` line files or a TSV, if present.
enum Files {
    Lines(PathBuf, PathBuf),
    Tsv(PathBuf),
    /// An AfriQA file: its question pairs.
    Afriqa(PathBuf, String),
}

fn source_files(root: &Path, source: Source, lang: &str) -> Result<Vec<Files>> {
    let b = root.join("bitext");
    let mut out = Vec::new();
    for code in code_aliases(lang) {
        match source {
            // `flores::file` tries every spelling itself: look once.
            Source::FloresDev if code == lang => {
                if let Ok(src) = flores::file(root, code, "dev") {
                    out.push(Files::Lines(src, flores::file(root, "eng_Latn", "dev")?));
                }
            }
            Source::FloresDev => {}
            Source::Ntrex => {
                let src = b.join(format!("ntrex128/newstest2019-ref.{code}.txt.gz"));
                if src.exists() {
                    out.push(Files::Lines(
                        src,
                        b.join("ntrex128/newstest2019-src.eng.txt.gz"),
                    ));
                }
            }
            Source::Lafand => {
                let dir = b.join(format!("lafand/en-{code}"));
                for split in ["train", "dev"] {
                    let src = dir.join(format!("{split}.{code}.gz"));
                    if src.exists() {
                        out.push(Files::Lines(src, dir.join(format!("{split}.en.gz"))));
                    }
                }
            }
            Source::Menyo => {
                if code == "yor" {
                    for split in ["train", "dev"] {
                        let tsv = b.join(format!("menyo20k/{split}.tsv.gz"));
                        if tsv.exists() {
                            out.push(Files::Tsv(tsv));
                        }
                    }
                }
            }
            Source::Tatoeba => {
                let stem = b.join(format!("tatoeba-laser/tatoeba.{code}-eng"));
                let src = stem.with_extension(format!("{code}.gz"));
                if src.exists() {
                    out.push(Files::Lines(src, stem.with_extension("eng.gz")));
                }
            }
            Source::AfriqaTrain => {
                if afriqa::file(root, code, "train").exists() {
                    out.push(Files::Afriqa(
                        afriqa::file(root, code, "train"),
                        code.to_owned(),
                    ));
                }
            }
        }
        if !out.is_empty() {
            break; // one spelling per source
        }
    }
    Ok(out)
}

/// Reads, deduplicates, leak-checks and budgets the bitext of `spec.lang`, then appends its
/// in-domain sources in full.
///
/// A language with no file in any requested source is an error naming the data root.
pub fn load(root: &Path, spec: &BitextSpec, guard: &LeakGuard) -> Result<Bitext> {
    let mut kept = Kept::default();
    let mut pairs = Vec::new();
    for &source in &spec.sources {
        read_source(root, source, &spec.lang, guard, &mut kept, &mut pairs)?;
    }
    if pairs.is_empty() {
        return Err(Error::MissingData {
            path: root.join("bitext"),
            hint: format!(
                "no bitext for `{}` in sources {:?} (spellings tried: {:?})",
                spec.lang,
                spec.sources.iter().map(|s| s.name()).collect::<Vec<_>>(),
                code_aliases(&spec.lang)
            ),
        });
    }
    if let Some(budget) = spec.budget {
        shuffle(&mut pairs, spec.seed);
        kept.report.over_budget = pairs.len().saturating_sub(budget);
        pairs.truncate(budget);
    }
    for &source in &spec.in_domain {
        let before = pairs.len();
        read_source(root, source, &spec.lang, guard, &mut kept, &mut pairs)?;
        if pairs.len() == before {
            return Err(Error::MissingData {
                path: root.to_path_buf(),
                hint: format!(
                    "in-domain source `{}` has no pairs for `{}`",
                    source.name(),
                    spec.lang
                ),
            });
        }
    }
    Ok(Bitext {
        lang: spec.lang.clone(),
        pairs,
        report: kept.report,
    })
}

/// Splits `budget` pairs by `shares` (which sum to 1) with the largest-remainder method: each
/// part gets `⌊share · budget⌋`, and the pairs left over go one each to the largest fractional
/// remainders (ties to the earlier part), so the quotas sum to `budget` exactly.
///
/// ```
/// use optical::data::bitext::quotas;
/// assert_eq!(quotas(&[0.5, 0.25, 0.25], 10), [5, 3, 2]);
/// assert_eq!(quotas(&[1.0 / 3.0; 3], 100), [34, 33, 33]);
/// assert_eq!(quotas(&[0.0, 1.0], 7), [0, 7]);
/// ```
pub fn quotas(shares: &[f64], budget: usize) -> Vec<usize> {
    let exact: Vec<f64> = shares.iter().map(|s| s.max(0.0) * budget as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    let assigned: usize = out.iter().sum();
    for &i in order.iter().cycle().take(budget.saturating_sub(assigned)) {
        out[i] += 1;
    }
    out
}

/// The budget seed of `lang` in a mix drawn with `seed`: `seed` XOR the FNV-1a hash of the code
/// as written. Languages whose sources have the same shape (FLORES dev + NTREX for German,
/// Chinese, …) would otherwise draw the same line numbers, i.e. translations of the same English
/// sentences.
pub fn language_seed(seed: u64, lang: &str) -> u64 {
    let hash = lang.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    seed ^ hash
}

/// The bitext of a multilingual mix: `budget` pairs split over `mix`'s `(language, share)` parts
/// by [`quotas`]; each language's pairs are the first of its own [`load`] with a budget of its
/// quota and seed [`language_seed`]`(seed, language)` (so a language's sample only grows as its
/// share grows). `template`
/// gives the sources; its language, budget and in-domain sources are ignored. Pairs are in mix
/// order, language after language.
///
/// A language that cannot fill its quota is an error naming it, its quota and what it has.
pub fn load_mix(
    root: &Path,
    mix: &[(String, f64)],
    budget: usize,
    seed: u64,
    template: &BitextSpec,
    guard: &LeakGuard,
) -> Result<Bitext> {
    let shares: Vec<f64> = mix.iter().map(|(_, s)| *s).collect();
    let mut pairs = Vec::with_capacity(budget);
    let mut report = BitextReport::default();
    for ((lang, _), quota) in mix.iter().zip(quotas(&shares, budget)) {
        if quota == 0 {
            continue;
        }
        let spec = BitextSpec::new(lang.as_str())
            .sources(template.sources.clone())
            .budget(quota, language_seed(seed, lang));
        let one = load(root, &spec, guard)?;
        if one.pairs.len() < quota {
            return Err(Error::MissingData {
                path: root.join("bitext"),
                hint: format!(
                    "the mix asks for {quota} `{lang}` pairs, the sources {:?} have {}",
                    spec.sources.iter().map(|s| s.name()).collect::<Vec<_>>(),
                    one.pairs.len()
                ),
            });
        }
        pairs.extend(one.pairs);
        let r = one.report;
        report.files.extend(r.files);
        report.read.extend(r.read);
        report.duplicates += r.duplicates;
        report.empty += r.empty;
        report.leaked += r.leaked;
        report.over_budget += r.over_budget;
    }
    let lang = mix
        .iter()
        .map(|(l, s)| format!("{l}:{s}"))
        .collect::<Vec<_>>()
        .join("+");
    Ok(Bitext {
        lang,
        pairs,
        report,
    })
}

/// The pairs kept so far (for deduplication) and the counts of what was read and dropped.
#[derive(Default)]
struct Kept {
    seen: HashSet<(String, String)>,
    report: BitextReport,
}

/// Reads every file of `source` for `lang` into `pairs`, counting what is dropped.
fn read_source(
    root: &Path,
    source: Source,
    lang: &str,
    guard: &LeakGuard,
    kept: &mut Kept,
    pairs: &mut Vec<BitextPair>,
) -> Result<()> {
    let Kept { seen, report } = kept;
    let mut read = 0;
    for files in source_files(root, source, lang)? {
        let iter: Box<dyn Iterator<Item = cooc::Result<SentencePair>>> = match files {
            Files::Lines(src, en) => {
                report.files.push(src.clone());
                Box::new(LinePairs::open(&src, &en)?)
            }
            Files::Tsv(tsv) => {
                report.files.push(tsv.clone());
                // MENYO-20k: header `English<TAB>Yoruba`; a few rows have a stray third column.
                let options = TsvOptions {
                    header: true,
                    src_col: 1,
                    tgt_col: 0,
                    ..TsvOptions::default()
                };
                Box::new(TsvPairs::open(&tsv, options)?)
            }
            Files::Afriqa(path, code) => {
                report.files.push(path.clone());
                let rows = afriqa::question_pairs(root, &code, "train")?;
                Box::new(rows.into_iter().map(|(line, src, tgt)| {
                    Ok(SentencePair {
                        src,
                        tgt,
                        line: line as u64,
                    })
                }))
            }
        };
        for pair in iter {
            let pair = pair?;
            read += 1;
            let (lrl, en) = (pair.src.trim().to_owned(), pair.tgt.trim().to_owned());
            if lrl.is_empty() || en.is_empty() {
                report.empty += 1;
            } else if guard.contains(&lrl) || guard.contains(&en) {
                report.leaked += 1;
            } else if seen.insert((lrl.clone(), en.clone())) {
                pairs.push(BitextPair { lrl, en, source });
            } else {
                report.duplicates += 1;
            }
        }
    }
    report.read.push((source, read));
    Ok(())
}

/// Shuffles `items` with the seeded generator used for budgets (ChaCha8), so that a sample drawn
/// elsewhere with the same seed is the same sample.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    items.shuffle(&mut rng);
}
