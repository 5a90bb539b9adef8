//! The training loop: bitext → cached teacher → student steps → checkpoints → student and record.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clir_encoders::tch::{Device, Tensor};
use clir_encoders::{Encoder, EncoderOutput, Freeze, TrainConfig, Trainer};
use cooc::{CoocStats, CoocTable, CostTable, CountOptions, Measure, Tokenizer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::adversarial::{self, Discriminator};
use super::checkpoint::{self, CheckpointState};
use super::config::{AdversaryInput, DistilConfig, Marginals, Method, hex};
use super::loss::{self, Idf, Tokens};
use super::teacher::{TeacherBatch, TeacherCache};
use crate::data::bitext::{self, BitextPair, BitextSpec, LeakGuard};
use crate::model::{Role, load_encoder};
use crate::noise::QueryNoise;
use crate::retrieve::{Lexicon, LexiconOptions};
use crate::{Error, Result};

/// How a run is executed (nothing here changes its result).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Continue from `out_dir/checkpoint/` if one is there (else start afresh, discarding it).
    pub resume: bool,
    /// Show a progress bar (loss, pairs/s, ETA) on standard error.
    pub progress: bool,
    /// Where to train.
    pub device: Device,
    /// Folder of teacher caches; `None` = `<out_dir>/../cache/teacher`.
    pub cache_dir: Option<PathBuf>,
    /// Stop after this many optimiser steps in total, as if killed (the last checkpoint stays;
    /// no student or record is written). For tests of resuming.
    pub stop_after_steps: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            resume: false,
            progress: false,
            device: Device::Cpu,
            cache_dir: None,
            stop_after_steps: None,
        }
    }
}

/// What a run did and how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistilReport {
    /// The trained student (Hugging Face layout).
    pub student_dir: PathBuf,
    /// The method's name.
    pub method: String,
    /// The language.
    pub lang: String,
    /// Bitext pairs trained on.
    pub pairs: usize,
    /// Optimiser steps done in total.
    pub steps: usize,
    /// Whether the run finished (false when stopped by [`RunOptions::stop_after_steps`]).
    pub complete: bool,
    /// The step this process resumed from, if it resumed.
    pub resumed_from: Option<usize>,
    /// Seconds from start to end of this process's work (bitext, teacher, training, saving).
    pub wall_s: f64,
    /// Seconds in training steps in this process.
    pub train_s: f64,
    /// Seconds to compute (or read) the teacher cache.
    pub teacher_s: f64,
    /// Whether the teacher cache was read instead of computed.
    pub teacher_cache_hit: bool,
    /// Bitext pairs per second of training (this process's steps).
    pub pairs_per_s: f64,
    /// Fraction of step time spent in Sinkhorn (0 for methods without OT).
    pub sinkhorn_share: f64,
    /// OT problems that hit `max_iter` (or diverged), over the whole run in this process.
    pub sinkhorn_not_converged: usize,
    /// Mean Sinkhorn iterations per batch.
    pub sinkhorn_iterations: f64,
    /// Peak resident memory of the process (VmHWM), MB.
    pub peak_rss_mb: f64,
    /// Mean loss of the first tenth of the steps (at least one step).
    pub first_loss: f64,
    /// Mean loss of the last tenth of the steps (at least one step).
    pub final_loss: f64,
    /// Loss of every step.
    pub losses: Vec<f64>,
    /// Number of trained scalar parameters.
    pub trainable_params: usize,
    /// The device, as libtorch names it.
    pub device: String,
    /// Diagnostics of the adversarial terms (absent when `[adversarial]` is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<AdversarialReport>,
}

/// What the adversarial terms measured over the whole run (resumed steps included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdversarialReport {
    /// Mean over steps of `L(E + δ) − L(E)`, the loss increase the embedding perturbation
    /// causes (absent without the embedding adversary).
    pub perturbation_gain: Option<f64>,
    /// Mean over steps of the discriminator's balanced cross-entropy (absent without the
    /// language adversary; `ln 2` = chance).
    pub discriminator_loss: Option<f64>,
    /// Mean over steps of the discriminator's balanced accuracy, in `[0, 1]` (0.5 = chance).
    pub discriminator_accuracy: Option<f64>,
    /// The discriminator's balanced accuracy at every step (before its update on that batch).
    pub discriminator_accuracies: Vec<f64>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    format: String,
    fingerprint: String,
    config: DistilConfig,
    git_commit: Option<String>,
    seed: u64,
    bitext_pairs: usize,
    bitext_sha256: String,
    wall_s: f64,
    finished_unix: u64,
    report: DistilReport,
}

/// Peak resident set size of this process in MB (`VmHWM` of `/proc/self/status`; 0 where
/// unavailable).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// SplitMix64: decorrelates `(seed, k)` into a seed.
fn mix(seed: u64, k: u64) -> u64 {
    let mut z = seed ^ k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn cached(out_dir: &Path, fingerprint: &str) -> Option<DistilReport> {
    let text = std::fs::read_to_string(out_dir.join("record.json")).ok()?;
    let record: Record = serde_json::from_str(&text).ok()?;
    (record.fingerprint == fingerprint && out_dir.join("student/config.json").is_file())
        .then_some(record.report)
}

/// Trains the student that `cfg` describes on the bitext of `cfg.lang` under `data_root` and
/// writes `out_dir/student/`, `out_dir/record.json` (and checkpoints while it runs).
///
/// A finished run with the same [`DistilConfig::fingerprint`] in `out_dir` is returned as it is.
pub fn distil(
    cfg: &DistilConfig,
    data_root: &Path,
    out_dir: &Path,
    opts: &RunOptions,
) -> Result<DistilReport> {
    let started = Instant::now();
    cfg.check()?;
    if let Some(report) = cached(out_dir, &cfg.fingerprint()) {
        tracing::info!("{}: cached run, not training", out_dir.display());
        return Ok(report);
    }
    let guard = LeakGuard::from_root(data_root)?;
    let mut spec = BitextSpec::new(&cfg.lang)
        .sources(cfg.sources()?)
        .in_domain(cfg.in_domain_sources()?);
    if cfg.bitext.budget > 0 {
        spec = spec.budget(cfg.bitext.budget, cfg.bitext.seed);
    }
    let mut bitext = if cfg.bitext.mix.is_empty() {
        bitext::load(data_root, &spec, &guard)?
    } else {
        let mix: Vec<(String, f64)> = cfg
            .bitext
            .mix
            .iter()
            .map(|p| (p.lang.clone(), p.share))
            .collect();
        let b = &cfg.bitext;
        bitext::load_mix(data_root, &mix, b.budget, b.seed, &spec, &guard)?
    };
    tracing::info!(
        "bitext {}-eng: {} pairs ({} leaked, {} duplicates dropped)",
        bitext.lang,
        bitext.pairs.len(),
        bitext.report.leaked,
        bitext.report.duplicates
    );
    if let Some(n) = &cfg.bitext.noise {
        add_noise(&mut bitext.pairs, n)?;
    }
    train(cfg, &bitext.pairs, out_dir, opts, started)
}

/// Corrupts the low-resource side of `pairs` with `noise` (pair `i`'s key is `i`); a
/// `code-switch` kind uses the co-occurrence lexicon of these same pairs.
fn add_noise(pairs: &mut [BitextPair], noise: &super::config::BitextNoise) -> Result<()> {
    let model = QueryNoise::parse(&noise.kinds)?.with_rate(noise.rate)?;
    let lexicon = if model.needs_lexicon() {
        let clean = pairs.iter().map(|p| (p.lrl.clone(), p.en.clone()));
        Some(Lexicon::from_bitext(clean, &LexiconOptions::default())?)
    } else {
        None
    };
    let mut changed = 0;
    for (i, p) in pairs.iter_mut().enumerate() {
        let noisy = model.apply(&p.lrl, &i.to_string(), noise.seed, lexicon.as_ref())?;
        changed += usize::from(noisy != p.lrl);
        p.lrl = noisy;
    }
    tracing::info!(
        "noise `{model}` at rate {}: {changed} of {} low-resource sentences changed",
        noise.rate,
        pairs.len()
    );
    Ok(())
}

/// [`distil`] on pairs given in memory (the configuration's `lang` and `[bitext]` are recorded
/// but not used to read data).
pub fn distil_pairs(
    cfg: &DistilConfig,
    pairs: &[BitextPair],
    out_dir: &Path,
    opts: &RunOptions,
) -> Result<DistilReport> {
    let started = Instant::now();
    cfg.check()?;
    if let Some(report) = cached(out_dir, &cfg.fingerprint()) {
        return Ok(report);
    }
    train(cfg, pairs, out_dir, opts, started)
}

/// Everything a step needs besides the models.
struct Prepared {
    cache: TeacherCache,
    costs: Option<CostTable>,
    idf: Option<(Idf, Idf)>,
    teacher_s: f64,
    teacher_cache_hit: bool,
}

fn bar(total: usize, on: bool) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if on {
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {prefix} {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

fn content_ids(encoder: &Encoder, texts: &[&str]) -> Result<Vec<Vec<i64>>> {
    let mut ids = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(256) {
        let batch = encoder.tokenize(chunk)?;
        for (r, pos) in loss::content_positions(&batch.content_mask)?
            .iter()
            .enumerate()
        {
            ids.push(
                pos.iter()
                    .map(|&p| i64::from(batch.token_ids[r][p].0))
                    .collect(),
            );
        }
    }
    Ok(ids)
}

/// The teacher's cache for the English side, computed (teacher loaded, run, dropped) only when
/// absent. Done before the student is loaded, so the two models are never in memory together.
fn teacher_cache(
    cfg: &DistilConfig,
    pairs: &[BitextPair],
    out_dir: &Path,
    opts: &RunOptions,
) -> Result<(TeacherCache, bool, f64)> {
    let t0 = Instant::now();
    let english: Vec<&str> = pairs.iter().map(|p| p.en.as_str()).collect();
    let setting = format!("role=query|max_len={}", cfg.train.max_len);
    let key = TeacherCache::key(&cfg.teacher, &setting, &english)?;
    let dir = opts.cache_dir.clone().unwrap_or_else(|| {
        out_dir
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            .join("cache/teacher")
    });
    let (cache, hit) = TeacherCache::load_or_compute(&dir, &key, || {
        let teacher =
            load_encoder(&cfg.teacher, Role::Query, opts.device)?.max_len(cfg.train.max_len);
        let pb = bar(english.len(), opts.progress);
        pb.set_prefix("teacher");
        let c = TeacherCache::compute(&teacher, &english, 32, |done| pb.set_position(done as u64));
        pb.finish_and_clear();
        c
    })?;
    if cache.len() != pairs.len() {
        return Err(Error::Resume {
            path: dir.join(format!("{key}.safetensors")),
            reason: format!(
                "cache holds {} texts, the bitext {}",
                cache.len(),
                pairs.len()
            ),
        });
    }
    let teacher_s = t0.elapsed().as_secs_f64();
    tracing::info!(
        "teacher cache {key}: {} ({teacher_s:.1}s)",
        if hit { "read" } else { "computed" }
    );
    Ok((cache, hit, teacher_s))
}

/// Co-occurrence costs and IDF weights, when the configuration uses them.
fn prepare(
    cfg: &DistilConfig,
    pairs: &[BitextPair],
    student: &Encoder,
    cache: TeacherCache,
    teacher_s: f64,
    teacher_cache_hit: bool,
) -> Result<Prepared> {
    let needs_idf = cfg.method == Method::Optical && cfg.optical.marginals == Marginals::Idf;
    let (mut costs, mut idf) = (None, None);
    if cfg.uses_cooc() || needs_idf {
        let lrl: Vec<&str> = pairs.iter().map(|p| p.lrl.as_str()).collect();
        let src = content_ids(student, &lrl)?;
        if needs_idf {
            let tgt: Vec<&[i64]> = (0..cache.len()).map(|k| cache.ids(k)).collect();
            idf = Some((Idf::new(src.iter().map(Vec::as_slice)), Idf::new(tgt)));
        }
        if cfg.uses_cooc() {
            let to_u32 = |v: &[i64]| v.iter().map(|&x| x.max(0) as u32).collect::<Vec<u32>>();
            let ids: Vec<(Vec<u32>, Vec<u32>)> = src
                .iter()
                .enumerate()
                .map(|(k, s)| (to_u32(s), to_u32(cache.ids(k))))
                .collect();
            let table = CoocTable::from_pairs(&ids, &CountOptions::default())?;
            let tokenizer = Tokenizer::load(cfg.student_dir().join("tokenizer.json"))?;
            let stats = CoocStats::new(tokenizer, table, None);
            tracing::info!("co-occurrence: {} subword pairs", stats.table().nnz());
            costs = Some(CostTable::new(&stats, Measure::Dice, 0.0)?);
        }
    }
    Ok(Prepared {
        cache,
        costs,
        idf,
        teacher_s,
        teacher_cache_hit,
    })
}

fn need<'a, T>(x: Option<&'a T>, what: &str) -> Result<&'a T> {
    x.ok_or_else(|| Error::Config {
        field: "method".into(),
        reason: format!("{what} was not prepared"),
    })
}

/// The method's own distillation loss on one encoded batch and its Sinkhorn diagnostics.
fn method_loss(
    cfg: &DistilConfig,
    prep: &Prepared,
    out: &EncoderOutput,
    tb: &TeacherBatch,
) -> Result<(Tensor, loss::OtStats)> {
    let device = out.states.device();
    let mut stats = loss::OtStats::default();
    let with_sentence = |l: Tensor, w: f64| -> Result<Tensor> {
        if w > 0.0 {
            Ok(l.f_add(&loss::sentence_loss(&out.pooled, &tb.pooled)?.f_mul_scalar(w)?)?)
        } else {
            Ok(l)
        }
    };
    let teacher_tokens = || Tokens {
        states: tb.states.shallow_clone(),
        mask: tb.mask.shallow_clone(),
        ids: tb.ids.clone(),
    };
    let value = match cfg.method {
        Method::SentenceKd => loss::sentence_loss(&out.pooled, &tb.pooled)?,
        Method::InfoNce => loss::infonce_loss(
            &out.pooled,
            &tb.pooled,
            cfg.infonce.temperature,
            cfg.infonce.symmetric,
        )?,
        Method::TokenKd => {
            let s = loss::gather_content(&out.states, &out.content_mask, &out.token_ids)?;
            let table = need(prep.costs.as_ref(), "the co-occurrence cost table")?;
            let (l, _links) = loss::token_kd_loss(&cfg.token_kd, table, &s, &teacher_tokens())?;
            with_sentence(l, cfg.token_kd.sentence_weight)?
        }
        Method::Optical => {
            let s = loss::gather_content(&out.states, &out.content_mask, &out.token_ids)?;
            let t = teacher_tokens();
            let (m_max, n_max) = (s.states.size()[1] as usize, t.states.size()[1] as usize);
            let c_cooc = if cfg.optical.uses_cooc() {
                let table = need(prep.costs.as_ref(), "the co-occurrence cost table")?;
                Some(loss::cooc_cost(
                    table, &s.ids, &t.ids, m_max, n_max, device,
                )?)
            } else {
                None
            };
            let (idf_s, idf_t) = match &prep.idf {
                Some((a, b)) => (Some(a), Some(b)),
                None => (None, None),
            };
            let a = loss::marginals(&s.ids, m_max, idf_s, device)?;
            let b = loss::marginals(&t.ids, n_max, idf_t, device)?;
            let (l, st) = loss::optical_loss(&cfg.optical, &s, &t, c_cooc.as_ref(), &a, &b)?;
            stats = st;
            with_sentence(l, cfg.optical.sentence_weight)?
        }
    };
    Ok((value, stats))
}

/// The losses of one step.
struct StepLoss {
    /// What the student's optimiser back-propagates (the reversed discriminator term included).
    objective: Tensor,
    /// The reported loss: `L(E)`, plus `weight · L(E + δ)` with the embedding adversary.
    value: f64,
    /// Sinkhorn time of every solve of the step; convergence counts of the clean solve.
    stats: loss::OtStats,
    /// `L(E + δ) − L(E)`.
    perturbation_gain: Option<f64>,
    /// The discriminator's own loss (its parameters in the graph, the inputs constant) and
    /// balanced accuracy.
    discriminator: Option<(Tensor, f64)>,
}

/// The loss of one batch (see the module docs for the adversarial terms).
fn batch_loss(
    cfg: &DistilConfig,
    prep: &Prepared,
    student: &Encoder,
    discriminator: Option<&Discriminator>,
    pairs: &[BitextPair],
    idx: &[usize],
) -> Result<StepLoss> {
    let device = student.device();
    let texts: Vec<&str> = idx.iter().map(|&k| pairs[k].lrl.as_str()).collect();
    let tb = prep.cache.batch(idx, device)?;
    let batch = student.tokenize(&texts)?;
    let adv = &cfg.adversarial;
    if adv.is_off() {
        let out = student.forward(batch, true)?;
        let (value, stats) = method_loss(cfg, prep, &out, &tb)?;
        return Ok(StepLoss {
            value: value.f_double_value(&[])?,
            objective: value,
            stats,
            perturbation_gain: None,
            discriminator: None,
        });
    }
    let embeds = student.embed_inputs(&batch)?;
    // A zero leaf added to the embeddings: its gradient is ∂L/∂E whether or not the word
    // table is trained.
    let zero = match &adv.embedding {
        Some(_) => Some(embeds.f_zeros_like()?.f_set_requires_grad(true)?),
        None => None,
    };
    let input = match &zero {
        Some(z) => embeds.f_add(z)?,
        None => embeds.shallow_clone(),
    };
    let out = student.forward_embeds(&batch, &input, true)?;
    let (clean, mut stats) = method_loss(cfg, prep, &out, &tb)?;
    let clean_value = clean.f_double_value(&[])?;
    let mut objective = clean.shallow_clone();
    let mut value = clean_value;
    let mut perturbation_gain = None;
    if let (Some(e), Some(z)) = (&adv.embedding, &zero) {
        let grad = Tensor::f_run_backward(&[&clean], &[z], true, false)?
            .pop()
            .ok_or_else(|| Error::Config {
                field: "adversarial.embedding".into(),
                reason: "the loss has no gradient with respect to the embeddings".into(),
            })?;
        let base = embeds.f_detach()?;
        let mut sinkhorn_s = 0.0;
        let delta = adversarial::pgd_delta(
            &grad,
            &batch.attention_mask,
            e.epsilon,
            e.alpha(),
            e.steps(),
            |d| {
                let o = student.forward_embeds(&batch, &base.f_add(d)?, true)?;
                let (l, st) = method_loss(cfg, prep, &o, &tb)?;
                sinkhorn_s += st.sinkhorn_s;
                Ok(l)
            },
        )?;
        let o = student.forward_embeds(&batch, &embeds.f_add(&delta)?, true)?;
        let (perturbed, st) = method_loss(cfg, prep, &o, &tb)?;
        stats.sinkhorn_s += sinkhorn_s + st.sinkhorn_s;
        let perturbed_value = perturbed.f_double_value(&[])?;
        perturbation_gain = Some(perturbed_value - clean_value);
        value += e.weight * perturbed_value;
        objective = objective.f_add(&perturbed.f_mul_scalar(e.weight)?)?;
    }
    let mut disc = None;
    if let (Some(l), Some(d)) = (&adv.language, discriminator) {
        let (xs, xt) = match l.on {
            AdversaryInput::Sentence => (out.pooled.shallow_clone(), tb.pooled.shallow_clone()),
            AdversaryInput::Token => (
                adversarial::masked_rows(&out.states, &out.content_mask)?,
                adversarial::masked_rows(&tb.states, &tb.mask)?,
            ),
        };
        let reversed = adversarial::gradient_reversal(&xs, l.lambda)?;
        let fooled = d.classify(&reversed, &xt, true)?;
        objective = objective.f_add(&fooled.loss.f_mul_scalar(l.weight)?)?;
        let own = d.classify(&xs.f_detach()?, &xt.f_detach()?, false)?;
        disc = Some((own.loss, own.accuracy));
    }
    Ok(StepLoss {
        objective,
        value,
        stats,
        perturbation_gain,
        discriminator: disc,
    })
}

fn tenth_mean(losses: &[f64], last: bool) -> f64 {
    if losses.is_empty() {
        return f64::NAN;
    }
    let k = (losses.len() / 10).max(1);
    let part = if last {
        &losses[losses.len() - k..]
    } else {
        &losses[..k]
    };
    part.iter().sum::<f64>() / k as f64
}

fn train(
    cfg: &DistilConfig,
    pairs: &[BitextPair],
    out_dir: &Path,
    opts: &RunOptions,
    started: Instant,
) -> Result<DistilReport> {
    if pairs.is_empty() {
        return Err(Error::Config {
            field: "bitext".into(),
            reason: "no training pairs".into(),
        });
    }
    let fingerprint = cfg.fingerprint();
    let t = &cfg.train;
    let (cache, hit, teacher_s) = teacher_cache(cfg, pairs, out_dir, opts)?;
    clir_encoders::seed(t.seed);
    let mut student = load_encoder(cfg.student_dir(), Role::Query, opts.device)?.max_len(t.max_len);
    student.freeze(Freeze {
        embeddings: t.freeze_embeddings,
        layers_below: t.freeze_layers_below,
    })?;
    let prep = prepare(cfg, pairs, &student, cache, teacher_s, hit)?;

    let n = pairs.len();
    let steps_per_epoch = n.div_ceil(t.batch_size);
    let total = steps_per_epoch * t.epochs;
    let train_config = TrainConfig::default()
        .lr(t.lr)
        .weight_decay(t.weight_decay)
        .warmup_steps((t.warmup_ratio * total as f64).ceil() as usize)
        .total_steps(total)
        .schedule(t.schedule.to_schedule())
        .max_grad_norm((t.grad_clip > 0.0).then_some(t.grad_clip));
    let mut trainer = Trainer::new(student.var_store(), train_config)?;
    let trainable_params: usize = student
        .var_store()
        .variables()
        .values()
        .filter(|v| v.requires_grad())
        .map(|v| v.numel())
        .sum();

    let mut discriminator = match &cfg.adversarial.language {
        Some(l) => {
            let dim = match l.on {
                AdversaryInput::Sentence => student.dim(),
                AdversaryInput::Token => student.config().hidden_size,
            };
            // Its own seed, so that the student's initial state does not depend on it.
            clir_encoders::seed(mix(t.seed ^ 0xD15C, 0));
            Some(Discriminator::new(
                dim,
                l.hidden as i64,
                opts.device,
                l.lr.unwrap_or(t.lr),
                t.weight_decay,
                t.grad_clip,
                total,
            )?)
        }
        None => None,
    };

    let ck_dir = out_dir.join("checkpoint");
    let mut losses = Vec::with_capacity(total);
    let (mut gains, mut disc_losses, mut disc_accuracies) = (Vec::new(), Vec::new(), Vec::new());
    let mut resumed_from = None;
    if opts.resume {
        if let Some(dir) = checkpoint::find(&ck_dir) {
            let state = checkpoint::load(
                &dir,
                &fingerprint,
                &student,
                &mut trainer,
                discriminator.as_mut(),
            )?;
            tracing::info!("resuming {} at step {}", out_dir.display(), state.step);
            resumed_from = Some(state.step);
            losses = state.losses;
            gains = state.perturbation_gains;
            disc_losses = state.discriminator_losses;
            disc_accuracies = state.discriminator_accuracies;
        }
    } else {
        checkpoint::remove(&ck_dir)?;
    }
    let start_step = losses.len();
    tracing::info!(
        "{} {}: {n} pairs, {total} steps of {} ({trainable_params} trained parameters) on {:?}",
        cfg.method.name(),
        cfg.lang,
        t.batch_size,
        opts.device
    );

    let pb = bar(total, opts.progress);
    pb.set_prefix(cfg.method.name());
    pb.set_position(start_step as u64);
    let (mut step_s, mut sinkhorn_s, mut pairs_done) = (0.0, 0.0, 0usize);
    let (mut not_converged, mut iterations, mut ot_batches) = (0usize, 0.0, 0usize);
    let mut order: Vec<usize> = Vec::new();
    let mut order_epoch = usize::MAX;
    let mut stopped = false;
    for step in start_step..total {
        let epoch = step / steps_per_epoch;
        if epoch != order_epoch {
            order = (0..n).collect();
            bitext::shuffle(&mut order, mix(t.seed, epoch as u64));
            order_epoch = epoch;
        }
        let at = (step % steps_per_epoch) * t.batch_size;
        let idx = &order[at..(at + t.batch_size).min(n)];
        clir_encoders::seed(mix(t.seed ^ 0x5EED, step as u64));
        let t0 = Instant::now();
        let step_loss = batch_loss(cfg, &prep, &student, discriminator.as_ref(), pairs, idx)?;
        trainer.backward_step(&step_loss.objective)?;
        if let (Some(d), Some((d_loss, accuracy))) =
            (discriminator.as_mut(), &step_loss.discriminator)
        {
            disc_losses.push(d_loss.f_double_value(&[])?);
            disc_accuracies.push(*accuracy);
            d.step(d_loss)?;
        }
        gains.extend(step_loss.perturbation_gain);
        let (loss_value, stats) = (step_loss.value, step_loss.stats);
        if let Device::Cuda(i) = opts.device {
            clir_encoders::tch::Cuda::synchronize(i as i64);
        }
        step_s += t0.elapsed().as_secs_f64();
        if !loss_value.is_finite() {
            return Err(Error::Config {
                field: "train.lr".into(),
                reason: format!("the loss became {loss_value} at step {step}"),
            });
        }
        sinkhorn_s += stats.sinkhorn_s;
        not_converged += stats.not_converged;
        if cfg.method == Method::Optical {
            iterations += stats.iterations;
            ot_batches += 1;
        }
        pairs_done += idx.len();
        losses.push(loss_value);
        pb.set_position(step as u64 + 1);
        pb.set_message(format!(
            "loss {loss_value:.4} {:.1} pairs/s",
            pairs_done as f64 / step_s.max(1e-9)
        ));
        let done = step + 1;
        if done < total && done % t.checkpoint_every == 0 {
            let state = CheckpointState {
                fingerprint: fingerprint.clone(),
                step: done,
                losses: losses.clone(),
                perturbation_gains: gains.clone(),
                discriminator_losses: disc_losses.clone(),
                discriminator_accuracies: disc_accuracies.clone(),
            };
            checkpoint::save(&ck_dir, &student, &trainer, discriminator.as_ref(), &state)?;
            tracing::debug!("checkpoint at step {done}");
        }
        if opts.stop_after_steps.is_some_and(|k| done >= k) && done < total {
            stopped = true;
            break;
        }
    }
    pb.finish_and_clear();

    let student_dir = out_dir.join("student");
    if !stopped {
        student.save(&student_dir)?;
    }
    let report = DistilReport {
        student_dir: student_dir.clone(),
        method: cfg.method.name().into(),
        lang: cfg.lang.clone(),
        pairs: n,
        steps: losses.len(),
        complete: !stopped,
        resumed_from,
        wall_s: started.elapsed().as_secs_f64(),
        train_s: step_s,
        teacher_s: prep.teacher_s,
        teacher_cache_hit: prep.teacher_cache_hit,
        pairs_per_s: pairs_done as f64 / step_s.max(1e-9),
        sinkhorn_share: if step_s > 0.0 {
            sinkhorn_s / step_s
        } else {
            0.0
        },
        sinkhorn_not_converged: not_converged,
        sinkhorn_iterations: if ot_batches > 0 {
            iterations / ot_batches as f64
        } else {
            0.0
        },
        peak_rss_mb: peak_rss_mb(),
        first_loss: tenth_mean(&losses, false),
        final_loss: tenth_mean(&losses, true),
        losses,
        trainable_params,
        device: format!("{:?}", opts.device),
        adversarial: (!cfg.adversarial.is_off()).then(|| AdversarialReport {
            perturbation_gain: mean(&gains),
            discriminator_loss: mean(&disc_losses),
            discriminator_accuracy: mean(&disc_accuracies),
            discriminator_accuracies: disc_accuracies,
        }),
    };
    if stopped {
        tracing::info!("stopped after step {} as asked", report.steps);
        return Ok(report);
    }
    write_record(cfg, &fingerprint, pairs, out_dir, &report)?;
    checkpoint::remove(&ck_dir)?;
    tracing::info!(
        "{}: {} steps, loss {:.4} -> {:.4}, {:.1} pairs/s, Sinkhorn {:.1}% of step time",
        student_dir.display(),
        report.steps,
        report.first_loss,
        report.final_loss,
        report.pairs_per_s,
        100.0 * report.sinkhorn_share
    );
    Ok(report)
}

fn write_record(
    cfg: &DistilConfig,
    fingerprint: &str,
    pairs: &[BitextPair],
    out_dir: &Path,
    report: &DistilReport,
) -> Result<()> {
    let mut h = Sha256::new();
    for p in pairs {
        h.update(p.lrl.as_bytes());
        h.update([0u8]);
        h.update(p.en.as_bytes());
        h.update([0u8]);
    }
    let record = Record {
        format: "optical-distil-record-v1".into(),
        fingerprint: fingerprint.into(),
        config: cfg.clone(),
        git_commit: crate::experiment::git_commit(),
        seed: cfg.train.seed,
        bitext_pairs: pairs.len(),
        bitext_sha256: hex(&h.finalize()),
        wall_s: report.wall_s,
        finished_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        report: report.clone(),
    };
    let path = out_dir.join("record.json");
    let write_err = |source: std::io::Error| Error::Write {
        path: path.clone(),
        source,
    };
    let json =
        serde_json::to_string_pretty(&record).map_err(|e| write_err(std::io::Error::other(e)))?;
    std::fs::create_dir_all(out_dir).map_err(write_err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".record-")
        .tempfile_in(out_dir)
        .map_err(write_err)?;
    std::io::Write::write_all(&mut tmp, json.as_bytes()).map_err(write_err)?;
    tmp.persist(&path).map_err(|e| write_err(e.error))?;
    Ok(())
}
