//! Filling a grid: every (collection, method, seed) cell without a current record is computed,
//! its run written under the runs folder and its record under the records folder.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clir_encoders::Encoder;
use clir_encoders::tch::Device;
use clir_metrics::{Qrels, Run};
use sha2::{Digest, Sha256};

use super::config::{ExperimentConfig, MethodKind, MethodSpec, merge_tables};
use super::plot::{Chart, Series};
use super::record::{
    ALIGNMENT_RECALL, RunRecord, git_commit, per_query_headline, per_query_measures, record_path,
    unix_now,
};
use super::report::{Grid, TOKEN_MEASURES, alignment, gap, markdown, robustness, seed_runs};
use super::scaling::scaling;
use super::set::EvalSet;
use crate::align::{AlignConfig, token_agreement};
use crate::data::bitext::{self, BitextSpec, LeakGuard};
use crate::data::{CollectionSpec, EvalCollection, Topic};
use crate::diagnostics::{ParallelAlignment, histogram};
use crate::distil::{self, DistilConfig};
use crate::model::{Role, load_encoder};
use crate::noise::QueryNoise;
use crate::retrieve::{Bm25Index, DenseIndex, Lexicon, LexiconOptions, rrf};
use crate::{Error, Result};

/// The `lang` label of students trained on a [`super::MixGrid`] mix (their folder is
/// `students/mix/<row>/seed-<s>`).
pub const MIX_LANG: &str = "mix";

/// Where an experiment reads and writes, and how it runs.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    /// The data root (layout of `../shared/data`).
    pub data_root: PathBuf,
    /// Runs and students: `runs/<name>` by default (not committed).
    pub runs_dir: PathBuf,
    /// Run records: `results/<name>` by default (committed).
    pub records_dir: PathBuf,
    /// Document embeddings and teacher token states, shared by experiments: `cache`.
    pub cache_dir: PathBuf,
    /// Where models run.
    pub device: Device,
    /// Progress bars.
    pub progress: bool,
    /// Only these rows (all when empty).
    pub only_methods: Vec<String>,
    /// Only these collections in this sitting, as written in the config (all when empty); the
    /// report still covers every collection.
    pub only_collections: Vec<String>,
    /// Stop after this many newly trained students (a sitting's budget); `None`: no limit.
    pub max_trainings: Option<usize>,
    /// Run only these seeds in this sitting (all of the config's when empty); records and
    /// reports still count every seed of the config.
    pub only_seeds: Vec<u64>,
}

impl ExperimentOptions {
    /// The defaults for `config`: `../shared/data`, `runs/<name>`, `results/<name>`, `cache`, CPU.
    pub fn new(config: &ExperimentConfig) -> Self {
        Self {
            data_root: crate::data::DEFAULT_DATA_ROOT.into(),
            runs_dir: Path::new("runs").join(&config.name),
            records_dir: Path::new("results").join(&config.name),
            cache_dir: "cache".into(),
            device: Device::Cpu,
            progress: true,
            only_methods: Vec::new(),
            only_collections: Vec::new(),
            max_trainings: None,
            only_seeds: Vec::new(),
        }
    }
}

/// What [`Experiment::run`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Cells computed now.
    pub computed: usize,
    /// Cells whose current record already existed.
    pub cached: usize,
    /// Students trained now.
    pub trained: usize,
    /// Cells left for a later sitting (`max_trainings` reached).
    pub deferred: usize,
    /// Cells that cannot exist, with the reason (e.g. no English queries for `english`).
    pub skipped: Vec<String>,
    /// Wall time in seconds.
    pub wall_s: f64,
}

/// A grid with its options and the state shared across cells (collections, indexes, lexicons).
pub struct Experiment {
    config: ExperimentConfig,
    sets: Vec<(String, EvalSet)>,
    opts: ExperimentOptions,
    collections: HashMap<String, (EvalCollection, Qrels)>,
    dense: HashMap<String, DenseIndex>,
    bm25: HashMap<String, Bm25Index>,
    lexicons: HashMap<(String, u64), Lexicon>,
    teacher_passage: Option<Encoder>,
    /// Per language: the co-occurrence costs of its whole training bitext (token diagnostics).
    references: HashMap<String, cooc::CostTable>,
    guard: Option<LeakGuard>,
    host: String,
}

impl std::fmt::Debug for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiment")
            .field("config", &self.config.name)
            .field("sets", &self.sets.len())
            .field("opts", &self.opts)
            .finish()
    }
}

impl Experiment {
    /// An experiment over `config` (checked) with `opts`.
    pub fn new(mut config: ExperimentConfig, opts: ExperimentOptions) -> Result<Self> {
        config.expand_mix();
        config.check()?;
        let sets = config.eval_sets()?;
        for m in &opts.only_methods {
            if !config
                .methods
                .iter()
                .any(|r| r.name == *m || r.is_mix_of(m))
            {
                return Err(Error::Config {
                    field: "only_methods".into(),
                    reason: format!("no row named `{m}`"),
                });
            }
        }
        let host = match opts.device {
            Device::Cpu => format!("cpu ({} threads)", clir_encoders::tch::get_num_threads()),
            Device::Cuda(i) => format!("cuda:{i}"),
            d => format!("{d:?}"),
        };
        Ok(Self {
            config,
            sets,
            opts,
            collections: HashMap::new(),
            dense: HashMap::new(),
            bm25: HashMap::new(),
            lexicons: HashMap::new(),
            teacher_passage: None,
            references: HashMap::new(),
            guard: None,
            host,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ExperimentConfig {
        &self.config
    }

    /// The columns this sitting covers (after `only_collections`).
    fn active_specs(&self) -> Vec<EvalSet> {
        self.sets
            .iter()
            .filter(|(name, _)| {
                self.opts.only_collections.is_empty() || self.opts.only_collections.contains(name)
            })
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Computes every cell without a current record (see the [module docs](super)).
    pub fn run(&mut self) -> Result<Summary> {
        let started = Instant::now();
        let mut summary = Summary::default();
        let specs = self.active_specs();
        let mut languages: Vec<String> = Vec::new();
        for s in &specs {
            if !languages.iter().any(|l| l == s.language()) {
                languages.push(s.language().to_owned());
            }
        }
        let methods: Vec<MethodSpec> = self
            .config
            .methods
            .iter()
            .filter(|m| {
                self.opts.only_methods.is_empty()
                    || self
                        .opts
                        .only_methods
                        .iter()
                        .any(|o| *o == m.name || m.is_mix_of(o))
            })
            .cloned()
            .collect();
        // A mix student serves every language: its row is filled over all columns at once.
        let (mixed, methods): (Vec<MethodSpec>, Vec<MethodSpec>) =
            methods.into_iter().partition(|m| m.mix.is_some());
        for method in &mixed {
            for seed in self.sitting_seeds(method) {
                self.fill(method, &specs, seed, &mut summary)?;
            }
        }
        for lang in &languages {
            let group: Vec<EvalSet> = specs
                .iter()
                .filter(|s| s.language() == lang)
                .cloned()
                .collect();
            for method in &methods {
                for seed in self.sitting_seeds(method) {
                    self.fill(method, &group, seed, &mut summary)?;
                }
            }
        }
        summary.wall_s = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    fn seeds_of(&self, method: &MethodSpec) -> Vec<Option<u64>> {
        if self.seeded(method) {
            self.config.seeds.iter().map(|&s| Some(s)).collect()
        } else {
            vec![None]
        }
    }

    /// [`Self::seeds_of`] restricted to this sitting's `only_seeds`.
    fn sitting_seeds(&self, method: &MethodSpec) -> Vec<Option<u64>> {
        let only = &self.opts.only_seeds;
        self.seeds_of(method)
            .into_iter()
            .filter(|seed| only.is_empty() || seed.is_none_or(|s| only.contains(&s)))
            .collect()
    }

    fn seeded(&self, method: &MethodSpec) -> bool {
        method.kind.seeded()
            || method
                .of
                .iter()
                .filter_map(|o| self.config.method(o))
                .any(|m| self.seeded(m))
    }

    /// The fingerprint of a cell: everything that determines its run.
    fn fingerprint(
        &self,
        method: &MethodSpec,
        spec: &EvalSet,
        seed: Option<u64>,
    ) -> Result<String> {
        let mut parts = serde_json::json!({
            "version": 1,
            "collection": spec.to_string(),
            "method": method,
            "teacher": self.config.teacher,
            "depth": self.config.depth,
            "seed": seed,
        });
        if self.config.alignment {
            parts["alignment"] = true.into();
        }
        if let (Some(noise), Some(_)) = (&self.config.noise, spec.noise_rate) {
            parts["noise"] = serde_json::json!({ "kinds": noise.kinds, "seed": noise.seed });
        }
        match method.kind {
            MethodKind::Distil => {
                let seed = seed.unwrap_or_default();
                parts["distil"] = self
                    .distil_config(method, spec.language(), seed)?
                    .fingerprint()
                    .into();
            }
            MethodKind::Bm25Translated => parts["budget"] = self.config.budget.into(),
            MethodKind::Rrf => {
                let inputs = method
                    .of
                    .iter()
                    .map(|o| {
                        let m = self.input(o)?;
                        let s = if self.seeded(m) { seed } else { None };
                        self.fingerprint(m, spec, s)
                    })
                    .collect::<Result<Vec<_>>>()?;
                parts["inputs"] = inputs.into();
            }
            _ => {}
        }
        Ok(hex(&Sha256::digest(parts.to_string().as_bytes())))
    }

    fn input(&self, name: &str) -> Result<&MethodSpec> {
        self.config.method(name).ok_or_else(|| Error::Config {
            field: "method.of".into(),
            reason: format!("no row named `{name}`"),
        })
    }

    /// The distillation configuration of a row for a language and seed: the experiment's shared
    /// table, the row's table over it, then the language, teacher, budget and seeds.
    pub fn distil_config(
        &self,
        method: &MethodSpec,
        lang: &str,
        seed: u64,
    ) -> Result<DistilConfig> {
        let mut table = self.config.distil.clone();
        merge_tables(&mut table, &method.distil);
        let explicit_budget = method
            .distil
            .get("bitext")
            .and_then(|b| b.get("budget"))
            .is_some();
        let mut fixed = toml::Table::new();
        let mut bitext = toml::Table::new();
        bitext.insert("seed".into(), (seed as i64).into());
        match (&method.mix, &self.config.mix) {
            (Some(point), Some(grid)) => {
                fixed.insert("lang".into(), MIX_LANG.into());
                let parts =
                    toml::Value::try_from(grid.parts(point.share)).map_err(|e| Error::Config {
                        field: "mix".into(),
                        reason: e.to_string(),
                    })?;
                bitext.insert("mix".into(), parts);
                bitext.insert("budget".into(), (point.budget as i64).into());
            }
            _ => {
                fixed.insert("lang".into(), lang.into());
                if !explicit_budget {
                    bitext.insert("budget".into(), (self.config.budget as i64).into());
                }
            }
        }
        if !table.contains_key("teacher") {
            fixed.insert(
                "teacher".into(),
                self.config.teacher.to_string_lossy().into_owned().into(),
            );
        }
        fixed.insert("bitext".into(), bitext.into());
        let mut train = toml::Table::new();
        train.insert("seed".into(), (seed as i64).into());
        fixed.insert("train".into(), train.into());
        merge_tables(&mut table, &fixed);
        let cfg: DistilConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| Error::Config {
                    field: format!("method `{}`: distil", method.name),
                    reason: e.to_string(),
                })?;
        cfg.check()?;
        Ok(cfg)
    }

    fn run_path(&self, spec: &EvalSet, method: &str, seed: Option<u64>) -> PathBuf {
        let file = match seed {
            Some(s) => format!("seed-{s}.trec"),
            None => "unseeded.trec".into(),
        };
        self.opts.runs_dir.join(spec.slug()).join(method).join(file)
    }

    /// Fills the cells of one row and seed over the collections of one language.
    fn fill(
        &mut self,
        method: &MethodSpec,
        group: &[EvalSet],
        seed: Option<u64>,
        summary: &mut Summary,
    ) -> Result<()> {
        let mut todo = Vec::new();
        for spec in group {
            if method.kind == MethodKind::English && !self.has_english(spec)? {
                summary
                    .skipped
                    .push(format!("{spec} / {}: no English queries", method.name));
                continue;
            }
            let fp = self.fingerprint(method, spec, seed)?;
            let path = record_path(&self.opts.records_dir, &spec.slug(), &method.name, seed);
            // A record from before the token diagnostics were switched on is incomplete: its run
            // is current, but the cell is measured again to add them.
            let tokens = self.measures_tokens(method, spec, seed)?;
            match RunRecord::load(&path)? {
                Some(r)
                    if r.fingerprint == fp
                        && (!tokens || r.per_query.contains_key(TOKEN_MEASURES[0].0)) =>
                {
                    summary.cached += 1
                }
                _ => todo.push((spec.clone(), fp, path)),
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let exhausted = self
            .opts
            .max_trainings
            .is_some_and(|m| summary.trained >= m);
        if exhausted
            && todo
                .iter()
                .any(|(spec, _, _)| self.needs_training(method, spec, seed))
        {
            summary.deferred += todo.len();
            return Ok(());
        }
        let started = Instant::now();
        let runs = self.produce(method, &todo, seed, summary)?;
        let share = started.elapsed().as_secs_f64() / todo.len() as f64;
        for ((spec, fp, path), produced) in todo.iter().zip(runs) {
            let Produced {
                run,
                training,
                per_pair,
            } = produced;
            let alignment = self.config.alignment;
            let (_, qrels) = self.collection(&spec.base)?;
            let mut per_query = per_query_headline(qrels, &run)?;
            if alignment {
                per_query.extend(per_query_measures(qrels, &run, &ALIGNMENT_RECALL)?);
                per_query.extend(per_pair);
            }
            let record = RunRecord {
                experiment: self.config.name.clone(),
                collection: spec.to_string(),
                method: method.name.clone(),
                seed,
                fingerprint: fp.clone(),
                git_commit: git_commit(),
                host: self.host.clone(),
                wall_s: share,
                finished_unix: unix_now(),
                num_queries: 0,
                means: Default::default(),
                per_query,
                training,
            }
            .with_means();
            record.save(path)?;
            summary.computed += 1;
            tracing::info!(
                collection = %spec,
                method = %method.name,
                seed = ?seed,
                ndcg10 = record.means.get("ndcg_cut_10").copied().unwrap_or(f64::NAN),
                "cell done"
            );
            eprintln!(
                "{} {} {}: nDCG@10 {:.4}  MAP {:.4}  R@100 {:.4}",
                spec,
                method.name,
                seed.map_or("-".into(), |s| format!("seed {s}")),
                record.means["ndcg_cut_10"],
                record.means["map"],
                record.means["recall_100"],
            );
        }
        Ok(())
    }

    /// Whether computing the cell would train a student: a distillation row, or a fusion row
    /// with a distillation input whose run is not on disk.
    fn needs_training(&self, method: &MethodSpec, spec: &EvalSet, seed: Option<u64>) -> bool {
        match method.kind {
            MethodKind::Distil => true,
            MethodKind::Rrf => method.of.iter().any(|name| {
                self.config.method(name).is_some_and(|m| {
                    let s = if self.seeded(m) { seed } else { None };
                    !self.run_path(spec, &m.name, s).exists() && self.needs_training(m, spec, s)
                })
            }),
            _ => false,
        }
    }

    /// The runs of one row and seed for `todo`'s collections (same language), each with the
    /// training report when a student was trained.
    fn produce(
        &mut self,
        method: &MethodSpec,
        todo: &[(EvalSet, String, PathBuf)],
        seed: Option<u64>,
        summary: &mut Summary,
    ) -> Result<Vec<Produced>> {
        let tag = method.name.as_str();
        let depth = self.config.depth;
        let mut out = Vec::with_capacity(todo.len());
        match method.kind {
            MethodKind::Dense | MethodKind::English => {
                let model = method.model.clone().unwrap_or(self.config.teacher.clone());
                let encoder = load_encoder(&model, Role::Query, self.opts.device)?;
                for (spec, _, _) in todo {
                    let english = method.kind == MethodKind::English;
                    let tokens = self.measures_tokens(method, spec, None)?;
                    let (run, per_pair) = self.dense_run(spec, &encoder, english, tokens, tag)?;
                    out.push(Produced {
                        run: self.save_run(spec, method, seed, run)?,
                        training: None,
                        per_pair,
                    });
                }
            }
            MethodKind::Bm25 => {
                for (spec, _, _) in todo {
                    let queries = self.queries(spec, false)?;
                    let run = self.bm25_index(spec)?.search(&queries, depth, tag)?;
                    out.push(Produced::run(self.save_run(spec, method, seed, run)?));
                }
            }
            MethodKind::Bm25Translated => {
                let seed_value = seed.unwrap_or_default();
                for (spec, _, _) in todo {
                    let native = self.queries(spec, false)?;
                    let lexicon = self.lexicon(spec.language(), seed_value)?;
                    let queries: Vec<Topic> = native
                        .into_iter()
                        .map(|t| Topic {
                            text: lexicon.translate(&t.text),
                            id: t.id,
                        })
                        .collect();
                    let run = self.bm25_index(spec)?.search(&queries, depth, tag)?;
                    out.push(Produced::run(self.save_run(spec, method, seed, run)?));
                }
            }
            MethodKind::Distil => {
                let seed_value = seed.unwrap_or_default();
                let lang = if method.mix.is_some() {
                    MIX_LANG.to_owned()
                } else {
                    todo[0].0.language().to_owned()
                };
                let cfg = self.distil_config(method, &lang, seed_value)?;
                let dir = self
                    .opts
                    .runs_dir
                    .join("students")
                    .join(&lang)
                    .join(&method.name)
                    .join(format!("seed-{seed_value}"));
                let run_opts = distil::RunOptions {
                    resume: true,
                    progress: self.opts.progress,
                    device: self.opts.device,
                    cache_dir: Some(self.opts.cache_dir.join("teacher")),
                    ..distil::RunOptions::default()
                };
                eprintln!(
                    "training {} for {lang}, seed {seed_value} → {}",
                    method.name,
                    dir.display()
                );
                let report = distil::distil(&cfg, &self.opts.data_root, &dir, &run_opts)?;
                summary.trained += 1;
                let training = serde_json::to_value(&report).ok();
                let encoder = load_encoder(&report.student_dir, Role::Query, self.opts.device)?;
                for (spec, _, _) in todo {
                    let tokens = self.measures_tokens(method, spec, seed)?;
                    let (run, per_pair) = self.dense_run(spec, &encoder, false, tokens, tag)?;
                    out.push(Produced {
                        run: self.save_run(spec, method, seed, run)?,
                        training: training.clone(),
                        per_pair,
                    });
                }
                drop(encoder);
                if !self.config.keep_students {
                    remove_dir(&report.student_dir)?;
                }
            }
            MethodKind::Rrf => {
                for (spec, _, _) in todo {
                    let mut inputs = Vec::new();
                    for name in &method.of {
                        let m = self.input(name)?.clone();
                        let s = if self.seeded(&m) { seed } else { None };
                        inputs.push(self.ensure_run(&m, spec, s, summary)?);
                    }
                    let refs: Vec<&Run> = inputs.iter().collect();
                    let run = rrf(&refs, method.rrf_k, depth, tag)?;
                    out.push(Produced::run(self.save_run(spec, method, seed, run)?));
                }
            }
        }
        Ok(out)
    }

    /// Whether the cells of `method` on `spec` record the token diagnostics: a token-alignment
    /// grid, a parallel collection, and a dense or distilled row whose query encoder starts from
    /// the teacher (so both sides share the tokenizer the co-occurrence costs are counted with).
    fn measures_tokens(
        &self,
        method: &MethodSpec,
        spec: &EvalSet,
        seed: Option<u64>,
    ) -> Result<bool> {
        if !(self.config.token_alignment && spec.base.is_parallel()) {
            return Ok(false);
        }
        Ok(match method.kind {
            MethodKind::Dense => method
                .model
                .as_ref()
                .is_none_or(|m| *m == self.config.teacher),
            MethodKind::Distil => {
                let cfg = self.distil_config(method, spec.language(), seed.unwrap_or_default())?;
                cfg.student_dir() == cfg.teacher
            }
            _ => false,
        })
    }

    /// The dense run of `spec` with `encoder` on its native (or English) queries and, in an
    /// alignment grid on a parallel collection, the per-pair alignment diagnostics of the same
    /// query vectors against the document vectors (query `i` and document `i` are translations),
    /// with the token diagnostics when `tokens`.
    fn dense_run(
        &mut self,
        spec: &EvalSet,
        encoder: &Encoder,
        english: bool,
        tokens: bool,
        tag: &str,
    ) -> Result<(Run, PerQuery)> {
        let queries = self.queries(spec, english)?;
        let depth = self.config.depth;
        let parallel = self.config.alignment && spec.base.is_parallel();
        let index = self.dense_index(spec)?;
        let q = DenseIndex::embed_queries(encoder, &queries)?;
        let ids: Vec<String> = queries.iter().map(|t| t.id.clone()).collect();
        let run = index.search_vectors(&ids, &q, depth, tag)?;
        let mut per_pair = if parallel {
            ParallelAlignment::measure(&q, index.embeddings())?.per_pair(&ids)?
        } else {
            PerQuery::new()
        };
        if parallel && tokens && !english {
            per_pair.extend(self.token_diagnostics(spec, encoder, &queries)?);
        }
        Ok((run, per_pair))
    }

    /// Per pair of a parallel collection (query *i* and document *i* are translations): the
    /// agreement of `encoder`'s OT plan against the teacher with co-occurrence links
    /// ([`token_agreement`]), under the keys of [`TOKEN_MEASURES`].
    fn token_diagnostics(
        &mut self,
        spec: &EvalSet,
        encoder: &Encoder,
        queries: &[Topic],
    ) -> Result<PerQuery> {
        let lang = spec.language().to_owned();
        if !self.references.contains_key(&lang) {
            let table = self.reference_costs(&lang)?;
            self.references.insert(lang.clone(), table);
        }
        self.collection(&spec.base)?;
        let docs = &self.collections[&spec.base.to_string()].0.documents;
        if docs.len() != queries.len() {
            return Err(Error::Config {
                field: "collections".into(),
                reason: format!(
                    "{spec}: {} queries against {} documents is not a parallel collection",
                    queries.len(),
                    docs.len()
                ),
            });
        }
        let pairs: Vec<(&str, &str)> = queries
            .iter()
            .zip(docs)
            .map(|(q, d)| (q.text.as_str(), d.text.as_str()))
            .collect();
        let (teacher, table) = match (&self.teacher_passage, self.references.get(&lang)) {
            (Some(t), Some(c)) => (t, c),
            _ => {
                return Err(Error::Config {
                    field: "teacher".into(),
                    reason: "teacher or co-occurrence costs not loaded".into(),
                });
            }
        };
        let agreement =
            token_agreement(encoder, teacher, table, &pairs, &AlignConfig::default(), 64)?;
        let column = |f: &dyn Fn(usize) -> f64| -> BTreeMap<String, f64> {
            queries
                .iter()
                .enumerate()
                .map(|(i, q)| (q.id.clone(), f(i)))
                .collect()
        };
        let mut out = PerQuery::new();
        let [aer, precision, recall] = TOKEN_MEASURES.map(|m| m.0.to_owned());
        out.insert(aer, column(&|i| agreement[i].aer));
        out.insert(precision, column(&|i| agreement[i].precision));
        out.insert(recall, column(&|i| agreement[i].recall));
        Ok(out)
    }

    /// Dice co-occurrence costs of `lang`'s whole training bitext (every evaluation text kept
    /// out), counted with the teacher's tokenizer.
    fn reference_costs(&mut self, lang: &str) -> Result<cooc::CostTable> {
        let bitext = self.bitext(&BitextSpec::new(lang))?;
        let tokenizer = cooc::Tokenizer::load(self.config.teacher.join("tokenizer.json"))?;
        let pairs = bitext.pairs.into_iter().enumerate().map(|(i, p)| {
            Ok(cooc::SentencePair {
                src: p.lrl,
                tgt: p.en,
                line: i as u64 + 1,
            })
        });
        let stats = cooc::CoocStats::builder(tokenizer)
            .progress(self.opts.progress)
            .count(pairs)?;
        Ok(cooc::CostTable::new(&stats, cooc::Measure::Dice, 0.0)?)
    }

    /// The run of a cell, from the runs folder or (when absent, e.g. computed in another
    /// sitting) recomputed together with its record.
    fn ensure_run(
        &mut self,
        method: &MethodSpec,
        spec: &EvalSet,
        seed: Option<u64>,
        summary: &mut Summary,
    ) -> Result<Run> {
        let path = self.run_path(spec, &method.name, seed);
        if !path.exists() {
            // The record is measured again: the recomputed run is what fusion sees. When the new
            // measurements equal the committed ones, the committed record (its commit, host and
            // wall time) is kept and only the run file is new.
            let rec = record_path(&self.opts.records_dir, &spec.slug(), &method.name, seed);
            let previous = RunRecord::load(&rec).ok().flatten();
            let _ = std::fs::remove_file(&rec);
            self.fill(method, std::slice::from_ref(spec), seed, summary)?;
            if let (Some(old), Some(new)) = (previous, RunRecord::load(&rec)?)
                && old.fingerprint == new.fingerprint
                && old.per_query == new.per_query
            {
                old.save(&rec)?;
            }
        }
        Ok(Run::load(&path)?)
    }

    fn save_run(
        &self,
        spec: &EvalSet,
        method: &MethodSpec,
        seed: Option<u64>,
        run: Run,
    ) -> Result<Run> {
        crate::retrieve::save_run(&run, &self.run_path(spec, &method.name, seed))?;
        Ok(run)
    }

    fn collection(&mut self, spec: &CollectionSpec) -> Result<&(EvalCollection, Qrels)> {
        let key = spec.to_string();
        if !self.collections.contains_key(&key) {
            let c = spec.load(&self.opts.data_root)?;
            let qrels = crate::retrieve::qrels_of(&c)?;
            self.collections.insert(key.clone(), (c, qrels));
        }
        Ok(&self.collections[&key])
    }

    fn has_english(&mut self, spec: &EvalSet) -> Result<bool> {
        Ok(!self.collection(&spec.base)?.0.english_queries.is_empty())
    }

    /// The native queries of `spec` (with its noise), or the human English translations (never
    /// noised: they are the reference).
    fn queries(&mut self, spec: &EvalSet, english: bool) -> Result<Vec<Topic>> {
        let (c, _) = self.collection(&spec.base)?;
        if english {
            return Ok(c.english_queries.clone());
        }
        let clean = c.queries.clone();
        let (Some(grid), Some(rate)) = (self.config.noise.clone(), spec.noise_rate) else {
            return Ok(clean);
        };
        let noise = QueryNoise::parse(&grid.kinds)?.with_rate(rate)?;
        let lexicon = if noise.needs_lexicon() {
            Some(self.lexicon(spec.language(), grid.seed)?)
        } else {
            None
        };
        clean
            .into_iter()
            .map(|t| {
                Ok(Topic {
                    text: noise.apply(&t.text, &t.id, grid.seed, lexicon)?,
                    id: t.id,
                })
            })
            .collect()
    }

    fn dense_index(&mut self, spec: &EvalSet) -> Result<&DenseIndex> {
        let key = spec.corpus_key();
        if !self.dense.contains_key(&key) {
            if self.teacher_passage.is_none() {
                self.teacher_passage = Some(load_encoder(
                    &self.config.teacher,
                    Role::Passage,
                    self.opts.device,
                )?);
            }
            let docs = self.collection(&spec.base)?.0.documents.clone();
            let encoder = self.teacher_passage.as_ref().ok_or_else(|| Error::Config {
                field: "teacher".into(),
                reason: "not loaded".into(),
            })?;
            let index = DenseIndex::build(
                encoder,
                &docs,
                Some(&self.opts.cache_dir.join("docs")),
                self.opts.progress,
            )?;
            self.dense.insert(key.clone(), index);
        }
        Ok(&self.dense[&key])
    }

    fn bm25_index(&mut self, spec: &EvalSet) -> Result<&Bm25Index> {
        let key = spec.corpus_key();
        if !self.bm25.contains_key(&key) {
            let docs = self.collection(&spec.base)?.0.documents.clone();
            self.bm25.insert(key.clone(), Bm25Index::build(&docs)?);
        }
        Ok(&self.bm25[&key])
    }

    /// The bitext of `spec` from the data root, every evaluation text kept out (the leak guard
    /// is read once per experiment).
    fn bitext(&mut self, spec: &BitextSpec) -> Result<bitext::Bitext> {
        if self.guard.is_none() {
            self.guard = Some(LeakGuard::from_root(&self.opts.data_root)?);
        }
        let guard = self.guard.as_ref().ok_or_else(|| Error::Config {
            field: "data_root".into(),
            reason: "leak guard not loaded".into(),
        })?;
        bitext::load(&self.opts.data_root, spec, guard)
    }

    fn lexicon(&mut self, lang: &str, seed: u64) -> Result<&Lexicon> {
        let key = (lang.to_owned(), seed);
        if !self.lexicons.contains_key(&key) {
            let bitext = self.bitext(&BitextSpec::new(lang).budget(self.config.budget, seed))?;
            let pairs = bitext.pairs.into_iter().map(|p| (p.lrl, p.en));
            let lexicon = Lexicon::from_bitext(pairs, &LexiconOptions::default())?;
            self.lexicons.insert(key.clone(), lexicon);
        }
        Ok(&self.lexicons[&key])
    }

    /// The current records (fingerprints matching the configuration) of every collection.
    pub fn records(&self) -> Result<Vec<RunRecord>> {
        let mut out = Vec::new();
        for (_, spec) in &self.sets {
            for m in &self.config.methods {
                for seed in self.seeds_of(m) {
                    let path = record_path(&self.opts.records_dir, &spec.slug(), &m.name, seed);
                    if let Some(r) = RunRecord::load(&path)? {
                        if r.fingerprint == self.fingerprint(m, spec, seed)? {
                            out.push(r);
                        } else {
                            tracing::warn!(path = %path.display(), "stale record ignored");
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The Markdown section of this experiment from its current records: heading, description,
    /// the command, the tables and (when `plots` names a folder) the nDCG@10 bar chart, whose
    /// paths are linked relative to `link_base`.
    ///
    /// The section covers every collection of the config, whatever `only_collections` this
    /// sitting ran, so a partial sitting never shrinks the committed table.
    pub fn report(&self, command: &str, plots: Option<(&Path, &Path)>) -> Result<String> {
        let records = self.records()?;
        let specs: Vec<EvalSet> = self.sets.iter().map(|(_, s)| s.clone()).collect();
        let collections: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        let grid = Grid::new(&self.config, &collections, &records);
        let mut md = String::new();
        let title = self
            .config
            .title
            .clone()
            .unwrap_or_else(|| self.config.name.clone());
        md.push_str(&format!("### {title}\n\n"));
        if let Some(d) = &self.config.description {
            md.push_str(d.trim());
            md.push_str("\n\n");
        }
        let budget = match &self.config.mix {
            Some(mix) => format!("bitext budgets {:?} pairs per student", mix.budgets),
            None => format!("bitext budget {} pairs per language", self.config.budget),
        };
        let (done, asked) = seed_runs(&self.config, &grid);
        let progress = if asked > 0 {
            format!(
                "; {done} of the {asked} (collection, seeded row, seed) runs are done (the \
                 `seeds done` column below says which)"
            )
        } else {
            String::new()
        };
        md.push_str(&format!(
            "Generated by `{command}` from {} run records in `{}` (seeds {:?}, {budget}){progress}.\n\n",
            records.len(),
            self.opts.records_dir.display(),
            self.config.seeds,
        ));
        md.push_str(&markdown(&self.config, &grid));
        let curves = super::report::curves(&specs);
        if !curves.is_empty() {
            md.push_str(&robustness(&self.config, &grid, &curves));
        }
        if self.config.alignment {
            md.push_str(&alignment(&self.config, &grid));
        }
        let clean: Vec<(String, CollectionSpec)> = specs
            .into_iter()
            .filter(|s| s.noise_rate.unwrap_or(0.0) == 0.0)
            .map(|s| (s.to_string(), s.base))
            .collect();
        if self.config.gap.is_some() {
            md.push_str(&gap(&self.config, &grid, &clean));
        }
        if self.config.mix.is_some() {
            let report = scaling(&self.config, &grid, &clean);
            md.push_str(&report.markdown);
            if let Some((dir, link_base)) = plots {
                for (suffix, alt, chart) in &report.charts {
                    let stem = format!("{}-{suffix}", self.config.name);
                    let written = chart.lines(&dir.join(stem))?;
                    link_png(&mut md, &written, alt, link_base);
                }
            }
        }
        if let Some((dir, link_base)) = plots {
            for c in collections
                .iter()
                .filter(|c| CollectionSpec::is_parallel_column(c))
            {
                let Some(chart) = self.cosine_histograms(&grid, c) else {
                    continue;
                };
                let stem = format!("{}-{}-cosines", self.config.name, c.replace(':', "-"));
                let written = chart.lines(&dir.join(stem))?;
                link_png(
                    &mut md,
                    &written,
                    &format!("{c}: cosine of parallel and non-parallel pairs"),
                    link_base,
                );
            }
            for (base, points) in &curves {
                let columns: Vec<String> = points.iter().map(|(_, c)| c.clone()).collect();
                let chart = Chart {
                    title: format!("{base}: nDCG@10 under query noise"),
                    y_label: "nDCG@10".into(),
                    x_label: "noise rate".into(),
                    x: points.iter().map(|(r, _)| r.to_string()).collect(),
                    series: self.ndcg_series(&grid, &columns),
                    y_range: (0.0, 1.0),
                };
                let stem = format!("{}-{}-noise", self.config.name, base.replace(':', "-"));
                let written = chart.lines(&dir.join(stem))?;
                link_png(
                    &mut md,
                    &written,
                    &format!("{base}: nDCG@10 against the query-noise rate"),
                    link_base,
                );
            }
            if self.config.mix.is_some() {
                // One bar per expanded row would be unreadable: the scaling curves stand for it.
                return Ok(md);
            }
            let chart = Chart {
                title: format!("{title}: nDCG@10"),
                y_label: "nDCG@10".into(),
                x_label: String::new(),
                x: collections.clone(),
                series: self.ndcg_series(&grid, &collections),
                y_range: (0.0, 1.0),
            };
            let written = chart.bars(&dir.join(format!("{}-ndcg10", self.config.name)))?;
            link_png(
                &mut md,
                &written,
                &format!("{title}: nDCG@10 per collection and method"),
                link_base,
            );
        }
        Ok(md)
    }

    /// Histograms of the per-pair cosines (seed-averaged) of parallel and non-parallel pairs on
    /// `collection`, two series per row that records them; `None` when no row does.
    fn cosine_histograms(&self, grid: &Grid, collection: &str) -> Option<Chart> {
        const BINS: usize = 40;
        let mut samples = Vec::new();
        for m in &self.config.methods {
            let Some(cell) = grid.cell(collection, &m.name) else {
                continue;
            };
            for (key, what) in [("cos_parallel", "parallel"), ("cos_random", "non-parallel")] {
                if let Some(v) = cell.per_query.get(key) {
                    let values: Vec<f64> = v.values().copied().collect();
                    samples.push((format!("{} {what}", m.name), values));
                }
            }
        }
        let all = samples.iter().flat_map(|(_, v)| v.iter().copied());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let spread = hi > lo; // false when every value is equal (or none is finite)
        if samples.is_empty() || !spread {
            return None;
        }
        let (lo, hi) = ((lo * 20.0).floor() / 20.0, (hi * 20.0).ceil() / 20.0);
        let width = (hi - lo) / BINS as f64;
        let series: Vec<Series> = samples
            .iter()
            .map(|(name, values)| Series {
                name: name.clone(),
                points: histogram(values, lo, hi, BINS)
                    .into_iter()
                    .map(|share| Some((share, 0.0)))
                    .collect(),
            })
            .collect();
        let top = series
            .iter()
            .flat_map(|s| s.points.iter().flatten().map(|p| p.0))
            .fold(0.0, f64::max);
        Some(Chart {
            title: format!("{collection}: cosine of parallel and non-parallel pairs"),
            y_label: "share of pairs".into(),
            x_label: "cosine (query encoder vs teacher passage vector)".into(),
            x: (0..BINS)
                .map(|b| format!("{:.4}", lo + width * (b as f64 + 0.5)))
                .collect(),
            series,
            y_range: (0.0, (top * 1.1).max(1e-3)),
        })
    }

    /// One series per method: mean nDCG@10 and its seed standard deviation on each column.
    fn ndcg_series(&self, grid: &Grid, columns: &[String]) -> Vec<Series> {
        self.config
            .methods
            .iter()
            .map(|m| Series {
                name: m.name.clone(),
                points: columns
                    .iter()
                    .map(|c| {
                        let cell = grid.cell(c, &m.name)?;
                        Some((
                            *cell.mean.get("ndcg_cut_10")?,
                            cell.seed_sd.get("ndcg_cut_10").copied().unwrap_or(0.0),
                        ))
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Measure key → query id → value.
type PerQuery = BTreeMap<String, BTreeMap<String, f64>>;

/// What computing one cell produced besides its record's bookkeeping.
struct Produced {
    run: Run,
    /// The distillation report, for trained rows.
    training: Option<serde_json::Value>,
    /// Per-query values measured outside the run (alignment diagnostics).
    per_pair: PerQuery,
}

impl Produced {
    fn run(run: Run) -> Self {
        Self {
            run,
            training: None,
            per_pair: PerQuery::new(),
        }
    }
}

/// Appends a Markdown image link to the PNG among `written`, relative to `link_base`.
fn link_png(md: &mut String, written: &[PathBuf], alt: &str, link_base: &Path) {
    if let Some(png) = written
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "png"))
    {
        md.push_str(&format!("![{alt}]({})\n\n", pathdiff(png, link_base)));
    }
}

/// `path` relative to the folder `base` when it lies under `base`'s parent tree (good enough
/// for links from `docs/results.md` to `docs/plots/…`).
fn pathdiff(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Write {
            path: dir.into(),
            source,
        }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
