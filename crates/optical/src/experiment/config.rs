//! The TOML schema of an experiment grid.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::set::EvalSet;
use crate::data::CollectionSpec;
use crate::{Error, Result};

/// A grid of methods × collections × seeds (see the [module docs](super)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Names the records folder (`results/<name>`), the runs folder and the plots.
    pub name: String,
    /// The heading of the generated section.
    #[serde(default)]
    pub title: Option<String>,
    /// The marker name in the results file (`<!-- BEGIN section -->`); defaults to `name`.
    #[serde(default)]
    pub section: Option<String>,
    /// Free text printed under the heading (setup, budget, where it ran).
    #[serde(default)]
    pub description: Option<String>,
    /// Seeds of every seeded method (training, bitext sample).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Collections, e.g. `afriqa:hau` (test split), `afriqa:hau:dev`, `xquad:de`.
    pub collections: Vec<String>,
    /// The frozen English teacher: encodes documents (passage side) and English queries.
    #[serde(default = "default_teacher")]
    pub teacher: PathBuf,
    /// Ranking depth of every run.
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// The method every other one is tested against (usually `zero-shot`).
    #[serde(default = "default_baseline")]
    pub baseline: String,
    /// Bitext pairs per language for every bitext-using method (distillation, lexicon).
    #[serde(default = "default_budget")]
    pub budget: usize,
    /// Keep distilled students on disk after their runs are written (they are ~0.5 GB each).
    #[serde(default)]
    pub keep_students: bool,
    /// Query noise: every collection is evaluated at each of its rates (one training serves all).
    #[serde(default)]
    pub noise: Option<NoiseGrid>,
    /// Embedding-alignment diagnostics: every cell also records Recall@1/5/10, and on parallel
    /// collections (`flores:`) the dense rows record bitext retrieval in the other direction
    /// (English → query language) and the cosine of parallel and non-parallel pairs
    /// ([`crate::diagnostics`]); the report adds their tables and cosine histograms.
    #[serde(default)]
    pub alignment: bool,
    /// Token-level alignment diagnostics on top of [`Self::alignment`]: on parallel collections
    /// every dense row also records, per pair, how far the mutual-argmax links of the student's
    /// OT plan agree with competitive-linking links of Dice co-occurrence counted on the
    /// language's whole training bitext (`token_aer`, `token_precision`, `token_recall`; see
    /// [`crate::align::token_agreement`]).
    #[serde(default)]
    pub token_alignment: bool,
    /// High- and low-resource languages: the report adds the gap between their mean nDCG@10
    /// per row and collection family, with bootstrap confidence intervals.
    #[serde(default)]
    pub gap: Option<GapGroups>,
    /// Multilingual distillation over a language mix: every `distil` row becomes one row per
    /// (low-resource share, budget), each training one student on the mix that serves every
    /// collection (see [`MixGrid`]); the report adds the scaling tables, trends and curves.
    #[serde(default)]
    pub mix: Option<MixGrid>,
    /// Distillation settings shared by every `distil` method (a `DistilConfig` table; a method's
    /// own `distil` table overrides it key by key).
    #[serde(default)]
    pub distil: toml::Table,
    /// The methods, in table order.
    #[serde(rename = "method")]
    pub methods: Vec<MethodSpec>,
}

/// The noise dimension of a grid: the queries of every collection are corrupted by the noise
/// model [`kinds`](Self::kinds) at each of [`rates`](Self::rates) (see [`crate::noise`]).
///
/// ```toml
/// [noise]
/// kinds = "typo+diacritics+case+punctuation+code-switch:0.5+drop:0.5"
/// rates = [0.0, 0.1, 0.2, 0.3]
/// seed = 0
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseGrid {
    /// The noise model: kinds and relative weights, as [`crate::noise::QueryNoise`] parses them.
    pub kinds: String,
    /// Rates in `[0, 1]`, increasing; `0` gives the clean queries (the curve's first point).
    pub rates: Vec<f64>,
    /// Seed of the noise: every method and training seed sees the same noisy queries. It also
    /// seeds the bitext sample of the code-switching lexicon.
    #[serde(default)]
    pub seed: u64,
}

/// The two language groups of the high/low-resource gap (see [`super::report::gap`]).
///
/// ```toml
/// [gap]
/// high = ["de", "zh"]
/// low = ["hau", "yor"]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapGroups {
    /// High-resource languages (any spelling of [`crate::data::bitext::code_aliases`]).
    pub high: Vec<String>,
    /// Low-resource languages.
    pub low: Vec<String>,
}

impl GapGroups {
    /// `Some(true)` when `lang` is in the high group, `Some(false)` in the low one.
    pub fn is_high(&self, lang: &str) -> Option<bool> {
        let has = |group: &[String]| {
            group
                .iter()
                .any(|g| crate::data::bitext::code_aliases(g).contains(&lang))
        };
        if has(&self.high) {
            Some(true)
        } else if has(&self.low) {
            Some(false)
        } else {
            None
        }
    }
}

/// The language-mix dimension of a grid: students distilled on `low` and `high` languages
/// together, the low-resource languages sharing `r` of the bitext budget equally and the
/// high-resource ones `1 − r`, for every `r` in [`shares`](Self::shares) and every total budget
/// in [`budgets`](Self::budgets).
///
/// ```toml
/// [mix]
/// low = ["hau", "yor", "ibo", "swa", "twi"]
/// high = ["de", "zh", "ar", "hi"]
/// shares = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]
/// budgets = [500, 2000]
/// ```
///
/// Row `optical` becomes `optical+r0.25+b2000` and so on; the row names and their points are
/// [`ExperimentConfig::mix_rows`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixGrid {
    /// Low-resource languages.
    pub low: Vec<String>,
    /// High-resource languages.
    pub high: Vec<String>,
    /// Shares `r` of the budget given to the low-resource group, in `[0, 1]`, increasing.
    pub shares: Vec<f64>,
    /// Total bitext budgets (pairs per student, over all languages), increasing.
    pub budgets: Vec<usize>,
}

impl MixGrid {
    /// The `[bitext] mix` at low-resource share `r`: each low-resource language `r / |low|`,
    /// each high-resource one `(1 − r) / |high|`; languages with share 0 are left out.
    pub fn parts(&self, r: f64) -> Vec<crate::distil::MixShare> {
        let group = |langs: &[String], total: f64| {
            langs
                .iter()
                .map(move |l| crate::distil::MixShare {
                    lang: l.clone(),
                    share: total / langs.len() as f64,
                })
                .filter(|p| p.share > 0.0)
                .collect::<Vec<_>>()
        };
        let mut out = group(&self.low, r);
        out.extend(group(&self.high, 1.0 - r));
        out
    }

    /// The two groups, to classify collection languages with [`GapGroups::is_high`].
    pub fn groups(&self) -> GapGroups {
        GapGroups {
            high: self.high.clone(),
            low: self.low.clone(),
        }
    }
}

/// Where an expanded row of a [`MixGrid`] sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixPoint {
    /// The row it was expanded from.
    pub base: String,
    /// Low-resource share `r`.
    pub share: f64,
    /// Total bitext budget.
    pub budget: usize,
}

/// One row of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Row name (unique; used in file names).
    pub name: String,
    /// What produces the run.
    pub kind: MethodKind,
    /// How the report treats the row.
    #[serde(default)]
    pub role: MethodRole,
    /// `dense`: the query encoder (default: the teacher).
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// `distil`: settings over the experiment's shared `distil` table.
    #[serde(default)]
    pub distil: toml::Table,
    /// `rrf`: the rows fused (named earlier in the file).
    #[serde(default)]
    pub of: Vec<String>,
    /// `rrf`: the constant `k` of 1 / (k + rank).
    #[serde(default = "default_rrf_k")]
    pub rrf_k: f64,
    /// Set on the rows [`ExperimentConfig::expand_mix`] made (not written in config files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<MixPoint>,
}

/// What produces a method's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodKind {
    /// Dense retrieval with a fixed query encoder (`model`, default the teacher): zero-shot.
    Dense,
    /// The teacher on the human English translation of each query: the upper bound.
    English,
    /// BM25 over the English documents with the query as it is.
    Bm25,
    /// BM25 with the query translated word by word through the bitext's co-occurrence lexicon.
    Bm25Translated,
    /// A student distilled on the language's bitext (OPTICAL or a distillation baseline).
    Distil,
    /// Reciprocal-rank fusion of earlier rows.
    Rrf,
}

impl MethodKind {
    /// Whether runs depend on the seed (bitext sample, training).
    pub fn seeded(self) -> bool {
        matches!(self, MethodKind::Distil | MethodKind::Bm25Translated)
    }
}

/// How the report treats a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodRole {
    /// A baseline: candidates for "the best baseline" of each collection.
    #[default]
    Baseline,
    /// A system under test: compared with the baseline row and the best baseline.
    System,
    /// A reference (upper bound): reported, never compared.
    Reference,
}

fn default_seeds() -> Vec<u64> {
    vec![0, 1, 2]
}
fn default_teacher() -> PathBuf {
    "models/multilingual-e5-small".into()
}
fn default_depth() -> usize {
    100
}
fn default_baseline() -> String {
    "zero-shot".into()
}
fn default_budget() -> usize {
    2000
}
fn default_rrf_k() -> f64 {
    60.0
}

impl MethodSpec {
    /// Whether this row was expanded from the mix row `base`.
    pub fn is_mix_of(&self, base: &str) -> bool {
        self.mix.as_ref().is_some_and(|p| p.base == base)
    }
}

impl ExperimentConfig {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| Error::Toml {
            path: path.into(),
            source,
        })?;
        config.check()?;
        Ok(config)
    }

    /// The marker name of the generated section.
    pub fn section(&self) -> &str {
        self.section.as_deref().unwrap_or(&self.name)
    }

    /// The collections, parsed.
    pub fn collection_specs(&self) -> Result<Vec<CollectionSpec>> {
        self.collections.iter().map(|c| c.parse()).collect()
    }

    /// The columns of the grid, each with the collection name it came from: every collection,
    /// or in a noise grid every collection at every rate.
    pub fn eval_sets(&self) -> Result<Vec<(String, EvalSet)>> {
        let mut out = Vec::new();
        for (name, base) in self.collections.iter().zip(self.collection_specs()?) {
            match &self.noise {
                None => out.push((name.clone(), EvalSet::clean(base))),
                Some(noise) => out.extend(noise.rates.iter().map(|&r| {
                    (
                        name.clone(),
                        EvalSet {
                            base: base.clone(),
                            noise_rate: Some(r),
                        },
                    )
                })),
            }
        }
        Ok(out)
    }

    /// Replaces every `distil` row by its [`MixGrid`] rows (`<name>+r<share>+b<budget>`, shares
    /// outer, budgets inner); a no-op without `[mix]` and on rows already expanded.
    pub fn expand_mix(&mut self) {
        let Some(mix) = &self.mix else { return };
        let mut rows = Vec::with_capacity(self.methods.len());
        for m in &self.methods {
            if m.kind != MethodKind::Distil || m.mix.is_some() {
                rows.push(m.clone());
                continue;
            }
            for &share in &mix.shares {
                for &budget in &mix.budgets {
                    let mut row = m.clone();
                    row.name = format!("{}+r{share}+b{budget}", m.name);
                    row.mix = Some(MixPoint {
                        base: m.name.clone(),
                        share,
                        budget,
                    });
                    rows.push(row);
                }
            }
        }
        self.methods = rows;
    }

    /// The expanded rows of the mix grid, in config order.
    pub fn mix_rows(&self) -> impl Iterator<Item = (&MethodSpec, &MixPoint)> {
        self.methods
            .iter()
            .filter_map(|m| m.mix.as_ref().map(|p| (m, p)))
    }

    /// The row named `name`.
    pub fn method(&self, name: &str) -> Option<&MethodSpec> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// Rejects empty grids, duplicate or unsafe names, unknown or later `rrf` inputs, a missing
    /// baseline row and malformed collections.
    pub fn check(&self) -> Result<()> {
        let bad = |field: &str, reason: String| Error::Config {
            field: field.into(),
            reason,
        };
        let safe = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
                && !s.starts_with('.')
        };
        if !safe(&self.name) {
            return Err(bad(
                "name",
                format!("`{}` is not a safe file name", self.name),
            ));
        }
        if self.methods.is_empty() || self.collections.is_empty() {
            return Err(bad(
                "method",
                "an experiment needs at least one [[method]] and one collection".into(),
            ));
        }
        if self.seeds.is_empty() {
            return Err(bad("seeds", "at least one seed".into()));
        }
        if self.depth == 0 || self.budget == 0 {
            return Err(bad("depth", "depth and budget must be positive".into()));
        }
        self.collection_specs()?;
        if let Some(noise) = &self.noise {
            crate::noise::QueryNoise::parse(&noise.kinds)?;
            let increasing = noise.rates.windows(2).all(|w| w[0] < w[1]);
            if noise.rates.is_empty()
                || !increasing
                || noise.rates.iter().any(|r| !(0.0..=1.0).contains(r))
            {
                return Err(bad(
                    "noise.rates",
                    format!(
                        "{:?}: need at least one rate, in [0, 1], strictly increasing",
                        noise.rates
                    ),
                ));
            }
        }
        if self.token_alignment && !self.alignment {
            return Err(bad(
                "token_alignment",
                "token-level diagnostics extend the alignment ones: set `alignment = true`".into(),
            ));
        }
        if let Some(mix) = &self.mix {
            let increasing = mix.shares.windows(2).all(|w| w[0] < w[1])
                && mix.budgets.windows(2).all(|w| w[0] < w[1]);
            if mix.low.is_empty()
                || mix.high.is_empty()
                || mix.shares.is_empty()
                || mix.budgets.is_empty()
                || !increasing
                || mix.shares.iter().any(|r| !(0.0..=1.0).contains(r))
                || mix.budgets.contains(&0)
            {
                return Err(bad(
                    "mix",
                    format!(
                        "low {:?}, high {:?}, shares {:?}, budgets {:?}: need non-empty groups, \
                         shares in [0, 1] and positive budgets, both strictly increasing",
                        mix.low, mix.high, mix.shares, mix.budgets
                    ),
                ));
            }
            if !self.methods.iter().any(|m| m.kind == MethodKind::Distil) {
                return Err(bad("mix", "no distil row to train on the mix".into()));
            }
        }
        if let Some(gap) = &self.gap {
            let in_low = |h: &String| {
                let h = h.as_str();
                gap.low
                    .iter()
                    .any(|l| crate::data::bitext::code_aliases(l).contains(&h))
            };
            if gap.high.is_empty() || gap.low.is_empty() || gap.high.iter().any(in_low) {
                return Err(bad(
                    "gap",
                    format!(
                        "high {:?} and low {:?} must both be non-empty and disjoint",
                        gap.high, gap.low
                    ),
                ));
            }
        }
        let mut seen = HashSet::new();
        for m in &self.methods {
            if !safe(&m.name) {
                return Err(bad(
                    "method.name",
                    format!("`{}` is not a safe file name", m.name),
                ));
            }
            if !seen.insert(m.name.as_str()) {
                return Err(bad("method.name", format!("`{}` appears twice", m.name)));
            }
            match m.kind {
                MethodKind::Rrf => {
                    if m.of.len() < 2 {
                        return Err(bad(
                            "method.of",
                            format!("`{}` fuses fewer than two rows", m.name),
                        ));
                    }
                    for input in &m.of {
                        if !seen.contains(input.as_str()) || input == &m.name {
                            return Err(bad(
                                "method.of",
                                format!(
                                    "`{}` fuses `{input}`, which is not an earlier row",
                                    m.name
                                ),
                            ));
                        }
                    }
                    if m.rrf_k.is_nan() || m.rrf_k < 0.0 {
                        return Err(bad("method.rrf_k", "must be ≥ 0".into()));
                    }
                }
                _ if !m.of.is_empty() => {
                    return Err(bad("method.of", format!("`{}` is not an rrf row", m.name)));
                }
                _ => {}
            }
            if m.kind != MethodKind::Distil && !m.distil.is_empty() {
                return Err(bad(
                    "method.distil",
                    format!("`{}` is not a distil row", m.name),
                ));
            }
        }
        if self.method(&self.baseline).is_none() {
            return Err(bad("baseline", format!("no row named `{}`", self.baseline)));
        }
        Ok(())
    }
}

/// Merges `over` into `base` key by key (tables recursively, everything else replaced).
pub(crate) fn merge_tables(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRID: &str = r#"
name = "t"
seeds = [0, 1]
collections = ["afriqa:hau", "xquad:de"]
[distil]
train = { epochs = 1 }
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "bm25"
kind = "bm25"
[[method]]
name = "optical"
kind = "distil"
role = "system"
distil = { method = "optical", train = { lr = 3e-5 } }
[[method]]
name = "rrf-bm25-optical"
kind = "rrf"
of = ["bm25", "optical"]
"#;

    #[test]
    fn parses_a_grid_and_merges_tables() {
        let c: ExperimentConfig = toml::from_str(GRID).unwrap();
        c.check().unwrap();
        assert_eq!(c.methods.len(), 4);
        assert_eq!(c.section(), "t");
        let mut t = c.distil.clone();
        merge_tables(&mut t, &c.methods[2].distil);
        let train = t["train"].as_table().unwrap();
        assert_eq!(train["epochs"].as_integer(), Some(1));
        assert_eq!(train["lr"].as_float(), Some(3e-5));
        assert_eq!(t["method"].as_str(), Some("optical"));
    }

    #[test]
    fn rejects_inconsistent_grids() {
        let cases = [
            (
                GRID.replace("of = [\"bm25\", \"optical\"]", "of = [\"bm25\", \"x\"]"),
                "not an earlier row",
            ),
            (
                GRID.replace("name = \"bm25\"", "name = \"zero-shot\""),
                "appears twice",
            ),
            (
                GRID.replace(
                    "collections = [\"afriqa:hau\", \"xquad:de\"]",
                    "collections = [\"afriqa:hau:val\"]",
                ),
                "expected afriqa:",
            ),
            (format!("baseline = \"none\"\n{GRID}"), "no row named"),
            (
                GRID.replace("name = \"t\"", "name = \"../t\""),
                "safe file name",
            ),
        ];
        for (text, want) in cases {
            let err = toml::from_str::<ExperimentConfig>(&text)
                .map_err(|e| e.to_string())
                .and_then(|c| c.check().map_err(|e| e.to_string()))
                .unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
        }
        let unknown = GRID.replace("seeds = [0, 1]", "seeds = [0, 1]\nsede = 3");
        assert!(toml::from_str::<ExperimentConfig>(&unknown).is_err());
    }

    #[test]
    fn a_mix_expands_distil_rows_once_per_share_and_budget() {
        let text = format!(
            "{}\n[mix]\nlow = [\"hau\", \"yor\"]\nhigh = [\"de\"]\nshares = [0.0, 0.5, 1.0]\nbudgets = [100, 200]\n",
            GRID.split("[[method]]\nname = \"rrf").next().unwrap()
        );
        let mut c: ExperimentConfig = toml::from_str(&text).unwrap();
        c.check().unwrap();
        c.expand_mix();
        c.check().unwrap();
        let names: Vec<&str> = c.methods.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names[..3], ["zero-shot", "bm25", "optical+r0+b100"]);
        assert_eq!(names.len(), 2 + 6);
        assert!(names.contains(&"optical+r0.5+b200"));
        // Expanding twice changes nothing.
        let before = c.methods.clone();
        c.expand_mix();
        assert_eq!(c.methods, before);
        assert!(c.methods[2].is_mix_of("optical"));
        assert_eq!(c.mix_rows().count(), 6);
        let mix = c.mix.as_ref().unwrap();
        let parts = mix.parts(0.5);
        assert_eq!(parts.len(), 3);
        assert!((parts[0].share - 0.25).abs() < 1e-12 && (parts[2].share - 0.5).abs() < 1e-12);
        assert_eq!(mix.parts(0.0).len(), 1);
        assert_eq!(mix.parts(1.0).len(), 2);
        for (from, to) in [
            ("shares = [0.0, 0.5, 1.0]", "shares = [0.5, 0.0]"),
            ("budgets = [100, 200]", "budgets = [0]"),
            ("high = [\"de\"]", "high = []"),
        ] {
            let bad: ExperimentConfig = toml::from_str(&text.replace(from, to)).unwrap();
            assert!(bad.check().unwrap_err().to_string().contains("mix"), "{to}");
        }
    }
}
