//! [`DistilConfig`]: every setting of a distillation run, read from TOML, validated by
//! [`DistilConfig::check`] before any work and fingerprinted for caching and resuming.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::bitext::Source;
use crate::{Error, Result};

/// Bumped whenever the meaning of a setting or the training loop changes, so that records and
/// checkpoints of an older version are not mistaken for this one's.
const FORMAT: &str = "optical-distil-v1";

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// MSE between pooled student and teacher vectors (Reimers & Gurevych 2020).
    SentenceKd,
    /// MSE between student and teacher token states on hard co-occurrence alignments.
    TokenKd,
    /// Contrastive InfoNCE with in-batch negatives: student query vector against the teacher's
    /// pooled English vectors.
    #[serde(rename = "infonce")]
    InfoNce,
    /// Optimal-transport token distillation (OPTICAL).
    #[default]
    Optical,
}

impl Method {
    /// The config spelling (`"sentence-kd"`, `"token-kd"`, `"infonce"`, `"optical"`).
    pub fn name(self) -> &'static str {
        match self {
            Method::SentenceKd => "sentence-kd",
            Method::TokenKd => "token-kd",
            Method::InfoNce => "infonce",
            Method::Optical => "optical",
        }
    }
}

/// Which ground cost a transport plan is computed from (or a loss is measured with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostKind {
    /// `C_emb = 1 − cos(s_i, t_j)`: depends on the student.
    Embedding,
    /// `C_cooc = 1 − Dice(u_i, v_j)` from co-occurrence counts on the same bitext: constant.
    Cooc,
    /// `λ C_emb + (1 − λ) C_cooc`.
    #[default]
    Mix,
}

/// Which cost the OT loss `<P, C_loss>` is measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossCost {
    /// The plan's own cost (`C_loss = C_plan`), with the gradient of the chosen mode.
    #[default]
    Plan,
    /// The representation distance `C_emb`, weighted by the plan (a constant for `detach`).
    Embedding,
}

/// The token-level loss of OPTICAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OtLoss {
    /// `<P, C_loss>`.
    #[default]
    Ot,
    /// `Σ_i a_i · mean_d (s_i − (P t)_i / (P1)_i)²`: regression onto the plan-aligned
    /// (barycentric) teacher tokens.
    Barycentric,
}

/// Token weights (OT marginals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Marginals {
    /// `1/m` on each content token.
    #[default]
    Uniform,
    /// Proportional to `idf(u) = ln((N + 1) / (df(u) + 1)) + 1`, with document frequencies
    /// counted over the sentences of the same side of the bitext.
    Idf,
}

/// How gradients flow through the Sinkhorn solve (see `ot_core::tch_ot::Gradient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GradientMode {
    /// The plan is a constant.
    #[default]
    Detach,
    /// Gradient of the regularised objective (envelope theorem).
    Envelope,
    /// Autograd through the iterations.
    Unrolled,
    /// Implicit differentiation of the fixed point (balanced only).
    Implicit,
}

impl GradientMode {
    /// The ot-core mode.
    pub fn to_ot(self) -> ot_core::tch_ot::Gradient {
        use ot_core::tch_ot::Gradient;
        match self {
            GradientMode::Detach => Gradient::Detach,
            GradientMode::Envelope => Gradient::Envelope,
            GradientMode::Unrolled => Gradient::Unrolled,
            GradientMode::Implicit => Gradient::Implicit,
        }
    }
}

/// Learning-rate decay after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleName {
    /// Constant.
    Constant,
    /// Linear to zero.
    #[default]
    Linear,
    /// Half cosine to zero.
    Cosine,
}

impl ScheduleName {
    /// The clir-encoders schedule.
    pub fn to_schedule(self) -> clir_encoders::Schedule {
        match self {
            ScheduleName::Constant => clir_encoders::Schedule::Constant,
            ScheduleName::Linear => clir_encoders::Schedule::Linear,
            ScheduleName::Cosine => clir_encoders::Schedule::Cosine,
        }
    }
}

/// Hard alignment rule of token-level KD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HardAlign {
    /// Mutual cheapest cells of the co-occurrence cost block (with some association).
    #[default]
    ArgmaxIntersection,
    /// Greedy competitive linking below `max_cost`.
    CompetitiveLinking,
}

/// `[bitext]`: which pairs to train on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BitextConfig {
    /// The first `budget` pairs after a seeded shuffle; 0 = all pairs.
    pub budget: usize,
    /// Source names (`flores-dev`, `ntrex`, `lafand`, `menyo`, `tatoeba`, `afriqa-train`).
    pub sources: Vec<String>,
    /// Seed of the budget shuffle.
    pub seed: u64,
    /// Sources appended in full after the budgeted sample (domain adaptation, e.g.
    /// `["afriqa-train"]`: in-domain question pairs on top of `budget` news pairs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_domain: Vec<String>,
    /// Noise augmentation: the low-resource side of every pair corrupted by a
    /// [`crate::noise::QueryNoise`] model (the English side, and so the teacher, unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<BitextNoise>,
    /// Multilingual distillation: one student on several languages, each contributing its
    /// `share` of `budget` (largest-remainder rounding, see [`crate::data::bitext::quotas`]).
    /// Each language's pairs are the first of its own seeded shuffle, so samples are nested as a
    /// share grows. Empty (the default) = the single language `lang`; when set, `lang` is only a
    /// label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mix: Vec<MixShare>,
}

/// One language of a `[bitext] mix`.
///
/// ```toml
/// [bitext]
/// budget = 2000
/// mix = [{ lang = "hau", share = 0.25 }, { lang = "de", share = 0.75 }]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixShare {
    /// Language code (any spelling the bitext reader knows).
    pub lang: String,
    /// Share of the budget, in `[0, 1]`; the shares of a mix sum to 1.
    pub share: f64,
}

/// `[bitext] noise`: a query-noise model applied to the low-resource side of the training pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitextNoise {
    /// Kinds and weights, as [`crate::noise::QueryNoise::parse`] reads them. `code-switch` uses
    /// the co-occurrence lexicon of the (budgeted) bitext itself.
    pub kinds: String,
    /// Rate in `[0, 1]`.
    pub rate: f64,
    /// Noise seed (default 0); each pair's key is its position in the sample.
    #[serde(default)]
    pub seed: u64,
}

impl Default for BitextConfig {
    fn default() -> Self {
        Self {
            budget: 2000,
            sources: Source::DEFAULT
                .iter()
                .map(|s| s.name().to_owned())
                .collect(),
            seed: 0,
            in_domain: Vec::new(),
            noise: None,
            mix: Vec::new(),
        }
    }
}

/// `[train]`: optimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    /// Passes over the bitext.
    pub epochs: usize,
    /// Sentence pairs per optimiser step.
    pub batch_size: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Share of the steps spent in linear warm-up.
    pub warmup_ratio: f64,
    /// Decay after warm-up.
    pub schedule: ScheduleName,
    /// Longest input in tokens (specials and prefix included), both sides.
    pub max_len: usize,
    /// Freeze the embedding tables (e5-small: the 250k × 384 word table) and their layer norm.
    pub freeze_embeddings: bool,
    /// Freeze transformer layers `0..freeze_layers_below`.
    pub freeze_layers_below: usize,
    /// Seed of data order, dropout and anything random in training.
    pub seed: u64,
    /// Write a checkpoint every this many optimiser steps.
    pub checkpoint_every: usize,
    /// Clip the global gradient norm to this; 0 = no clipping.
    pub grad_clip: f64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 16,
            lr: 2e-5,
            weight_decay: 0.01,
            warmup_ratio: 0.1,
            schedule: ScheduleName::Linear,
            max_len: 64,
            freeze_embeddings: true,
            freeze_layers_below: 0,
            seed: 0,
            checkpoint_every: 50,
            grad_clip: 1.0,
        }
    }
}

/// `[optical]`: the OT loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpticalConfig {
    /// The plan's ground cost.
    pub cost: CostKind,
    /// Weight of `C_emb` in the `mix` cost (`1 − lambda` on `C_cooc`), as in `optical::align`.
    pub lambda: f64,
    /// The cost the loss `<P, C_loss>` is measured with.
    pub loss_cost: LossCost,
    /// `ot` (`<P, C_loss>`) or `barycentric` regression.
    pub loss: OtLoss,
    /// Entropic regularisation (POT's `reg`).
    pub eps: f64,
    /// Sinkhorn iteration cap.
    pub max_iter: usize,
    /// Sinkhorn tolerance on the marginal violation.
    pub tol: f64,
    /// Unbalanced OT with this marginal KL weight; absent = balanced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reg_m: Option<f64>,
    /// Gradient through the solve.
    pub gradient: GradientMode,
    /// Token weights.
    pub marginals: Marginals,
    /// Weight of the added sentence term `MSE(pooled student, pooled teacher)`.
    pub sentence_weight: f64,
}

impl Default for OpticalConfig {
    fn default() -> Self {
        Self {
            cost: CostKind::Mix,
            lambda: 0.5,
            loss_cost: LossCost::Plan,
            loss: OtLoss::Ot,
            eps: 0.05,
            max_iter: 200,
            tol: 1e-4,
            reg_m: None,
            gradient: GradientMode::Detach,
            marginals: Marginals::Uniform,
            sentence_weight: 0.0,
        }
    }
}

impl OpticalConfig {
    /// Whether the co-occurrence cost is needed.
    pub fn uses_cooc(&self) -> bool {
        self.cost != CostKind::Embedding
    }
}

/// `[infonce]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InfoNceConfig {
    /// Softmax temperature on cosine similarities.
    pub temperature: f64,
    /// Also add the teacher-to-student direction (mean of both cross-entropies).
    pub symmetric: bool,
}

impl Default for InfoNceConfig {
    fn default() -> Self {
        Self {
            temperature: 0.05,
            symmetric: false,
        }
    }
}

/// `[token_kd]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenKdConfig {
    /// How hard links are read off the co-occurrence cost block.
    pub align: HardAlign,
    /// Cells at or above this co-occurrence cost are never linked.
    pub max_cost: f64,
    /// Weight of the added sentence term `MSE(pooled student, pooled teacher)`.
    pub sentence_weight: f64,
}

impl Default for TokenKdConfig {
    fn default() -> Self {
        Self {
            align: HardAlign::ArgmaxIntersection,
            max_cost: 0.95,
            sentence_weight: 0.0,
        }
    }
}

/// How the embedding-space perturbation is found (`[adversarial] embedding.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PerturbKind {
    /// One normalised gradient step to the sphere of radius `epsilon` (Miyato et al. 2017).
    #[default]
    Fgm,
    /// `steps` normalised ascent steps of size `alpha`, each projected onto the ball (Madry et
    /// al. 2018; FreeLB's L2 ball on word embeddings).
    Pgd,
}

/// `[adversarial] embedding`: perturb the student's word embeddings inside an L2 ball of
/// radius `epsilon` per sequence and add `weight ·` the method's loss on the perturbed input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddingAdversary {
    /// FGM or PGD.
    pub kind: PerturbKind,
    /// Radius of the L2 ball, per sequence, in word-embedding units.
    pub epsilon: f64,
    /// Weight of the loss on the perturbed input.
    pub weight: f64,
    /// PGD ascent steps (the first uses the clean gradient); absent = 3. PGD only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// PGD step size; absent = `2.5 epsilon / steps` (Madry et al.'s rule). PGD only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
}

impl Default for EmbeddingAdversary {
    fn default() -> Self {
        Self {
            kind: PerturbKind::Fgm,
            epsilon: 1.0,
            weight: 1.0,
            steps: None,
            alpha: None,
        }
    }
}

impl EmbeddingAdversary {
    /// Ascent steps: 1 for FGM, `steps` (default 3) for PGD.
    pub fn steps(&self) -> usize {
        match self.kind {
            PerturbKind::Fgm => 1,
            PerturbKind::Pgd => self.steps.unwrap_or(3),
        }
    }

    /// Step size: `epsilon` for FGM (one step to the sphere), `alpha` (default
    /// `2.5 epsilon / steps`) for PGD.
    pub fn alpha(&self) -> f64 {
        match self.kind {
            PerturbKind::Fgm => self.epsilon,
            PerturbKind::Pgd => self
                .alpha
                .unwrap_or(2.5 * self.epsilon / self.steps().max(1) as f64),
        }
    }
}

/// Which vectors the language discriminator sees (`[adversarial] language.on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdversaryInput {
    /// Pooled sentence vectors `p_s` against the teacher's `p_t`.
    #[default]
    Sentence,
    /// Content-token states `s_i` against the teacher's `t_j`.
    Token,
}

/// `[adversarial] language`: a one-hidden-layer MLP tells student (LRL) vectors from teacher
/// (English) ones; the student gets its gradient reversed and scaled by `lambda`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageAdversary {
    /// Weight of the reversed discriminator loss in the student's objective.
    pub weight: f64,
    /// Gradient-reversal scale `λ` (Ganin & Lempitsky 2015).
    pub lambda: f64,
    /// Sentence or token vectors.
    pub on: AdversaryInput,
    /// Hidden units of the discriminator.
    pub hidden: usize,
    /// The discriminator's AdamW learning rate (constant); absent = `train.lr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
}

impl Default for LanguageAdversary {
    fn default() -> Self {
        Self {
            weight: 0.1,
            lambda: 1.0,
            on: AdversaryInput::Sentence,
            hidden: 256,
            lr: None,
        }
    }
}

/// `[adversarial]`: optional adversarial terms, usable with every method; both off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdversarialConfig {
    /// Embedding-space perturbation of the student (FGM / PGD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingAdversary>,
    /// Language discriminator with gradient reversal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageAdversary>,
}

impl AdversarialConfig {
    /// Whether neither term is on (then the run is exactly the plain method).
    pub fn is_off(&self) -> bool {
        self.embedding.is_none() && self.language.is_none()
    }
}

/// Every setting of one distillation run (TOML; every field has a default).
///
/// ```
/// use optical::distil::{DistilConfig, Method};
/// let cfg: DistilConfig = toml::from_str(r#"
///     lang = "yor"
///     method = "sentence-kd"
///     [train]
///     epochs = 2
/// "#).unwrap();
/// assert_eq!(cfg.method, Method::SentenceKd);
/// assert_eq!(cfg.train.batch_size, 16);
/// cfg.check().unwrap();
/// assert_eq!(cfg.fingerprint().len(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistilConfig {
    /// Language code of the low-resource side (any spelling the bitext reader knows).
    pub lang: String,
    /// The frozen English teacher (model folder).
    pub teacher: PathBuf,
    /// The initial student (model folder); absent = a copy of the teacher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub student: Option<PathBuf>,
    /// The objective.
    pub method: Method,
    /// The bitext.
    pub bitext: BitextConfig,
    /// Optimisation.
    pub train: TrainSettings,
    /// OPTICAL's settings (`method = "optical"`).
    pub optical: OpticalConfig,
    /// InfoNCE's settings (`method = "infonce"`).
    pub infonce: InfoNceConfig,
    /// Token-KD's settings (`method = "token-kd"`).
    pub token_kd: TokenKdConfig,
    /// Adversarial training (any method); omitted from the serialised form, and so from the
    /// fingerprint, when off, so that configurations without it keep their fingerprints.
    #[serde(skip_serializing_if = "AdversarialConfig::is_off")]
    pub adversarial: AdversarialConfig,
}

impl Default for DistilConfig {
    fn default() -> Self {
        Self {
            lang: "hau".into(),
            teacher: PathBuf::from("models/multilingual-e5-small"),
            student: None,
            method: Method::Optical,
            bitext: BitextConfig::default(),
            train: TrainSettings::default(),
            optical: OpticalConfig::default(),
            infonce: InfoNceConfig::default(),
            token_kd: TokenKdConfig::default(),
            adversarial: AdversarialConfig::default(),
        }
    }
}

fn bad(field: &str, reason: impl Into<String>) -> Result<()> {
    Err(Error::Config {
        field: field.into(),
        reason: reason.into(),
    })
}

impl DistilConfig {
    /// Reads a TOML file (unknown keys are errors naming line and key).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| Error::Toml {
            path: path.into(),
            source,
        })
    }

    /// The student's initial weights: [`DistilConfig::student`] or the teacher.
    pub fn student_dir(&self) -> &Path {
        self.student.as_deref().unwrap_or(&self.teacher)
    }

    /// The bitext sources, parsed.
    pub fn sources(&self) -> Result<Vec<Source>> {
        parse_sources(&self.bitext.sources, "bitext.sources")
    }

    /// The parsed `[bitext] in_domain` sources.
    pub fn in_domain_sources(&self) -> Result<Vec<Source>> {
        parse_sources(&self.bitext.in_domain, "bitext.in_domain")
    }

    /// `[bitext] mix`: shares in `[0, 1]` summing to 1, distinct languages, a positive budget,
    /// no in-domain sources (they are per language and unbudgeted).
    fn check_mix(&self) -> Result<()> {
        let mix = &self.bitext.mix;
        if mix.is_empty() {
            return Ok(());
        }
        if self.bitext.budget == 0 {
            return bad("bitext.budget", "a mix needs a positive total budget");
        }
        if !self.bitext.in_domain.is_empty() {
            return bad("bitext.in_domain", "cannot be combined with a mix");
        }
        let mut seen: Vec<&str> = Vec::new();
        for part in mix {
            if !(0.0..=1.0).contains(&part.share) {
                return bad(
                    "bitext.mix.share",
                    format!("`{}`: must lie in [0, 1], got {}", part.lang, part.share),
                );
            }
            let aliases = crate::data::bitext::code_aliases(part.lang.trim());
            if part.lang.trim().is_empty() || seen.iter().any(|l| aliases.contains(l)) {
                return bad(
                    "bitext.mix.lang",
                    format!("`{}`: empty or named twice", part.lang),
                );
            }
            seen.push(part.lang.trim());
        }
        let total: f64 = mix.iter().map(|p| p.share).sum();
        if (total - 1.0).abs() > 1e-6 {
            return bad("bitext.mix", format!("shares sum to {total}, not 1"));
        }
        Ok(())
    }

    /// Validates every setting before any work.
    pub fn check(&self) -> Result<()> {
        if self.lang.trim().is_empty() {
            return bad("lang", "must name a language");
        }
        self.sources()?;
        self.in_domain_sources()?;
        if let Some(n) = &self.bitext.noise {
            crate::noise::QueryNoise::parse(&n.kinds)?.with_rate(n.rate)?;
        }
        if self.bitext.sources.is_empty() {
            return bad("bitext.sources", "must name at least one source");
        }
        self.check_mix()?;
        let t = &self.train;
        if t.epochs == 0 {
            return bad("train.epochs", "must be >= 1");
        }
        let min_batch = if self.method == Method::InfoNce { 2 } else { 1 };
        if t.batch_size < min_batch {
            return bad(
                "train.batch_size",
                format!("must be >= {min_batch} for {}", self.method.name()),
            );
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad("train.lr", format!("must be finite and > 0, got {}", t.lr));
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return bad("train.weight_decay", "must be finite and >= 0");
        }
        if !(0.0..=1.0).contains(&t.warmup_ratio) {
            return bad("train.warmup_ratio", "must lie in [0, 1]");
        }
        if t.max_len < 4 {
            return bad("train.max_len", "must be >= 4");
        }
        if t.checkpoint_every == 0 {
            return bad("train.checkpoint_every", "must be >= 1");
        }
        if !(t.grad_clip.is_finite() && t.grad_clip >= 0.0) {
            return bad("train.grad_clip", "must be finite and >= 0 (0 = off)");
        }
        let o = &self.optical;
        if !(o.eps.is_finite() && o.eps > 0.0) {
            return bad(
                "optical.eps",
                format!("must be finite and > 0, got {}", o.eps),
            );
        }
        if !(0.0..=1.0).contains(&o.lambda) {
            return bad("optical.lambda", "must lie in [0, 1]");
        }
        if o.max_iter == 0 {
            return bad("optical.max_iter", "must be >= 1");
        }
        if !(o.tol.is_finite() && o.tol > 0.0) {
            return bad("optical.tol", "must be finite and > 0");
        }
        if let Some(r) = o.reg_m {
            if !(r.is_finite() && r > 0.0) {
                return bad(
                    "optical.reg_m",
                    "must be finite and > 0 (omit for balanced OT)",
                );
            }
            if o.gradient == GradientMode::Implicit {
                return bad(
                    "optical.gradient",
                    "implicit gradients are implemented for balanced OT only (drop reg_m)",
                );
            }
        }
        if !(o.sentence_weight.is_finite() && o.sentence_weight >= 0.0) {
            return bad("optical.sentence_weight", "must be finite and >= 0");
        }
        if self.method == Method::Optical
            && o.cost == CostKind::Cooc
            && o.loss == OtLoss::Ot
            && o.loss_cost == LossCost::Plan
            && o.sentence_weight <= 0.0
        {
            return bad(
                "optical.loss_cost",
                "<P, C_cooc> does not depend on the student, so it gives no gradient: set \
                 loss_cost = \"embedding\" (the paper's configuration), loss = \"barycentric\" \
                 or a sentence_weight > 0",
            );
        }
        if !(self.infonce.temperature.is_finite() && self.infonce.temperature > 0.0) {
            return bad("infonce.temperature", "must be finite and > 0");
        }
        let k = &self.token_kd;
        if !(k.max_cost.is_finite() && k.max_cost > 0.0) {
            return bad("token_kd.max_cost", "must be finite and > 0");
        }
        if !(k.sentence_weight.is_finite() && k.sentence_weight >= 0.0) {
            return bad("token_kd.sentence_weight", "must be finite and >= 0");
        }
        self.check_adversarial()
    }

    fn check_adversarial(&self) -> Result<()> {
        let positive = |field: &str, x: f64| {
            if x.is_finite() && x > 0.0 {
                Ok(())
            } else {
                bad(field, format!("must be finite and > 0, got {x}"))
            }
        };
        if let Some(e) = &self.adversarial.embedding {
            positive("adversarial.embedding.epsilon", e.epsilon)?;
            positive("adversarial.embedding.weight", e.weight)?;
            match e.kind {
                PerturbKind::Fgm => {
                    if e.steps.is_some() || e.alpha.is_some() {
                        return bad(
                            "adversarial.embedding.kind",
                            "steps and alpha are PGD settings: set kind = \"pgd\" or drop them",
                        );
                    }
                }
                PerturbKind::Pgd => {
                    if e.steps == Some(0) {
                        return bad("adversarial.embedding.steps", "must be >= 1, got 0");
                    }
                    if let Some(a) = e.alpha {
                        positive("adversarial.embedding.alpha", a)?;
                    }
                }
            }
        }
        if let Some(l) = &self.adversarial.language {
            positive("adversarial.language.weight", l.weight)?;
            if !(l.lambda.is_finite() && l.lambda >= 0.0) {
                return bad(
                    "adversarial.language.lambda",
                    format!("must be finite and >= 0, got {}", l.lambda),
                );
            }
            if l.hidden == 0 {
                return bad("adversarial.language.hidden", "must be >= 1, got 0");
            }
            if let Some(lr) = l.lr {
                positive("adversarial.language.lr", lr)?;
            }
        }
        Ok(())
    }

    /// Whether the run needs co-occurrence statistics.
    pub fn uses_cooc(&self) -> bool {
        match self.method {
            Method::Optical => self.optical.uses_cooc(),
            Method::TokenKd => true,
            Method::SentenceKd | Method::InfoNce => false,
        }
    }

    /// SHA-256 (hex) of the canonical JSON of the configuration and the format version: equal
    /// fingerprints mean the same run.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(FORMAT.as_bytes());
        h.update([0u8]);
        h.update(json.as_bytes());
        hex(&h.finalize())
    }
}

fn parse_sources(names: &[String], field: &str) -> Result<Vec<Source>> {
    names
        .iter()
        .map(|name| {
            Source::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Source::ALL.iter().map(|s| s.name()).collect();
                Error::Config {
                    field: field.into(),
                    reason: format!("unknown source `{name}` (known: {})", known.join(", ")),
                }
            })
        })
        .collect()
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_round_trip() {
        let cfg = DistilConfig::default();
        cfg.check().unwrap();
        let text = toml::to_string(&cfg).unwrap();
        let back: DistilConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg);
        assert_eq!(back.fingerprint(), cfg.fingerprint());
    }

    #[test]
    fn method_names() {
        for (m, name) in [
            (Method::SentenceKd, "sentence-kd"),
            (Method::TokenKd, "token-kd"),
            (Method::InfoNce, "infonce"),
            (Method::Optical, "optical"),
        ] {
            let cfg: DistilConfig = toml::from_str(&format!("method = \"{name}\"")).unwrap();
            assert_eq!(cfg.method, m);
            assert_eq!(m.name(), name);
        }
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(toml::from_str::<DistilConfig>("[train]\nepoch = 1").is_err());
        let mut cfg = DistilConfig::default();
        cfg.optical.cost = CostKind::Cooc;
        assert!(cfg.check().is_err());
        cfg.optical.loss_cost = LossCost::Embedding;
        cfg.check().unwrap();
        cfg.optical.reg_m = Some(1.0);
        cfg.optical.gradient = GradientMode::Implicit;
        assert!(cfg.check().is_err());
        let mut cfg = DistilConfig::default();
        cfg.bitext.sources = vec!["nope".into()];
        assert!(cfg.check().is_err());
    }

    /// Configurations and fingerprints from `record.json` files written before `[adversarial]`
    /// existed (runs/main/students/hau/{optical,infonce}/seed-0, git 0a84bc8).
    const OLD_RECORDS: [(&str, &str); 2] = [
        (
            r#"{"lang":"hau","teacher":"models/multilingual-e5-small","method":"optical","bitext":{"budget":1000,"sources":["flores-dev","ntrex","lafand","menyo"],"seed":0},"train":{"epochs":1,"batch_size":16,"lr":2e-5,"weight_decay":0.01,"warmup_ratio":0.1,"schedule":"linear","max_len":64,"freeze_embeddings":true,"freeze_layers_below":0,"seed":0,"checkpoint_every":50,"grad_clip":1.0},"optical":{"cost":"mix","lambda":0.5,"loss_cost":"plan","loss":"ot","eps":0.05,"max_iter":200,"tol":0.0001,"gradient":"detach","marginals":"uniform","sentence_weight":0.0},"infonce":{"temperature":0.05,"symmetric":false},"token_kd":{"align":"argmax-intersection","max_cost":0.95,"sentence_weight":0.0}}"#,
            "43cc39f3fa1a43c2e5cff5cbc6791c19f3b2450627cf074cd9a24a7be4755d49",
        ),
        (
            r#"{"lang":"hau","teacher":"models/multilingual-e5-small","method":"infonce","bitext":{"budget":1000,"sources":["flores-dev","ntrex","lafand","menyo"],"seed":0},"train":{"epochs":1,"batch_size":16,"lr":2e-5,"weight_decay":0.01,"warmup_ratio":0.1,"schedule":"linear","max_len":64,"freeze_embeddings":true,"freeze_layers_below":0,"seed":0,"checkpoint_every":50,"grad_clip":1.0},"optical":{"cost":"mix","lambda":0.5,"loss_cost":"plan","loss":"ot","eps":0.05,"max_iter":200,"tol":0.0001,"gradient":"detach","marginals":"uniform","sentence_weight":0.0},"infonce":{"temperature":0.05,"symmetric":false},"token_kd":{"align":"argmax-intersection","max_cost":0.95,"sentence_weight":0.0}}"#,
            "7ab796832bfa85bb65217e25a46384de567627aa0144075fdc2550dadd543251",
        ),
    ];

    #[test]
    fn old_configurations_keep_their_fingerprints() {
        for (json, fingerprint) in OLD_RECORDS {
            let cfg: DistilConfig = serde_json::from_str(json).unwrap();
            assert!(cfg.adversarial.is_off());
            assert_eq!(cfg.fingerprint(), fingerprint);
            let again = serde_json::to_string(&cfg).unwrap();
            assert!(!again.contains("adversarial"));
        }
        // An adversarial term changes it, and each setting of it counts.
        let base: DistilConfig = serde_json::from_str(OLD_RECORDS[0].0).unwrap();
        let mut fgm = base.clone();
        fgm.adversarial.embedding = Some(EmbeddingAdversary::default());
        let mut lang = base.clone();
        lang.adversarial.language = Some(LanguageAdversary::default());
        let mut lang2 = lang.clone();
        if let Some(l) = lang2.adversarial.language.as_mut() {
            l.lambda = 0.5;
        }
        let prints = [&base, &fgm, &lang, &lang2].map(|c| c.fingerprint());
        for i in 0..prints.len() {
            for j in 0..i {
                assert_ne!(prints[i], prints[j], "{i} vs {j}");
            }
        }
    }

    #[test]
    fn adversarial_settings_parse_and_round_trip() {
        let cfg: DistilConfig = toml::from_str(
            r#"
            [adversarial]
            embedding = { kind = "pgd", epsilon = 0.5, weight = 1.0, steps = 3, alpha = 0.4 }
            language = { weight = 0.1, lambda = 1.0, on = "token", hidden = 64, lr = 1e-4 }
            "#,
        )
        .unwrap();
        cfg.check().unwrap();
        let e = cfg.adversarial.embedding.as_ref().unwrap();
        assert_eq!((e.kind, e.steps(), e.alpha()), (PerturbKind::Pgd, 3, 0.4));
        let l = cfg.adversarial.language.as_ref().unwrap();
        assert_eq!(
            (l.on, l.hidden, l.lr),
            (AdversaryInput::Token, 64, Some(1e-4))
        );
        let back: DistilConfig = toml::from_str(&toml::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);

        let fgm: DistilConfig =
            toml::from_str("[adversarial]\nembedding = { kind = \"fgm\" }").unwrap();
        let e = fgm.adversarial.embedding.as_ref().unwrap();
        assert_eq!((e.steps(), e.alpha(), e.epsilon), (1, 1.0, 1.0));
        let pgd: DistilConfig =
            toml::from_str("[adversarial]\nembedding = { kind = \"pgd\", epsilon = 0.6 }").unwrap();
        let e = pgd.adversarial.embedding.as_ref().unwrap();
        assert_eq!(e.steps(), 3);
        approx::assert_relative_eq!(e.alpha(), 0.5);
    }

    fn field_of(toml_text: &str) -> String {
        let cfg: DistilConfig = toml::from_str(toml_text).unwrap();
        match cfg.check() {
            Err(Error::Config { field, reason }) => {
                assert!(!reason.is_empty());
                field
            }
            other => panic!("{toml_text}: expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn adversarial_errors_name_the_field() {
        for key in [
            "[adversarial]\nembeding = { kind = \"fgm\" }",
            "[adversarial]\nembedding = { kind = \"fgsm\" }",
            "[adversarial]\nembedding = { eps = 1.0 }",
            "[adversarial]\nlanguage = { on = \"word\" }",
            "[adversarial]\nlanguage = { lamda = 1.0 }",
        ] {
            assert!(toml::from_str::<DistilConfig>(key).is_err(), "{key}");
        }
        for (text, field) in [
            (
                "[adversarial]\nembedding = { epsilon = 0.0 }",
                "adversarial.embedding.epsilon",
            ),
            (
                "[adversarial]\nembedding = { weight = -1.0 }",
                "adversarial.embedding.weight",
            ),
            (
                "[adversarial]\nembedding = { kind = \"fgm\", steps = 2 }",
                "adversarial.embedding.kind",
            ),
            (
                "[adversarial]\nembedding = { kind = \"pgd\", steps = 0 }",
                "adversarial.embedding.steps",
            ),
            (
                "[adversarial]\nembedding = { kind = \"pgd\", alpha = nan }",
                "adversarial.embedding.alpha",
            ),
            (
                "[adversarial]\nlanguage = { weight = 0.0 }",
                "adversarial.language.weight",
            ),
            (
                "[adversarial]\nlanguage = { lambda = -1.0 }",
                "adversarial.language.lambda",
            ),
            (
                "[adversarial]\nlanguage = { hidden = 0 }",
                "adversarial.language.hidden",
            ),
            (
                "[adversarial]\nlanguage = { lr = inf }",
                "adversarial.language.lr",
            ),
        ] {
            assert_eq!(field_of(text), field, "{text}");
        }
    }

    #[test]
    fn bitext_domain_adaptation_settings() {
        let cfg: DistilConfig = toml::from_str(
            r#"
lang = "hau"
[bitext]
in_domain = ["afriqa-train"]
noise = { kinds = "typo+drop:0.5", rate = 0.1 }
"#,
        )
        .unwrap();
        cfg.check().unwrap();
        assert_eq!(cfg.in_domain_sources().unwrap(), [Source::AfriqaTrain]);
        let plain: DistilConfig = toml::from_str("lang = \"hau\"").unwrap();
        // Unset, they leave the fingerprint (and so every earlier record) as it was.
        assert!(!serde_json::to_string(&plain).unwrap().contains("in_domain"));
        assert_ne!(cfg.fingerprint(), plain.fingerprint());
        for (text, want) in [
            ("[bitext]\nin_domain = [\"news\"]", "unknown source `news`"),
            (
                "[bitext]\nnoise = { kinds = \"typo\", rate = 2.0 }",
                "must be in [0, 1]",
            ),
            (
                "[bitext]\nnoise = { kinds = \"typ\", rate = 0.1 }",
                "unknown kind `typ`",
            ),
        ] {
            let cfg: DistilConfig = toml::from_str(&format!("lang = \"hau\"\n{text}")).unwrap();
            let err = cfg.check().unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn fingerprint_changes_with_settings() {
        let a = DistilConfig::default();
        let mut b = a.clone();
        b.train.seed = 1;
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn mix_is_checked_and_absent_from_plain_fingerprints() {
        let plain: DistilConfig = toml::from_str("lang = \"hau\"").unwrap();
        assert!(!serde_json::to_string(&plain).unwrap().contains("\"mix\":"));
        let text = "lang = \"mix\"\n[bitext]\nbudget = 100\nmix = [{ lang = \"hau\", share = 0.25 }, { lang = \"de\", share = 0.75 }]";
        let cfg: DistilConfig = toml::from_str(text).unwrap();
        cfg.check().unwrap();
        assert_eq!(cfg.bitext.mix.len(), 2);
        assert_ne!(cfg.fingerprint(), plain.fingerprint());
        let cases = [
            ("share = 0.75 }", "share = 0.5 }", "sum to 0.75"),
            ("\"de\"", "\"ha\"", "named twice"),
            ("share = 0.25", "share = -0.25", "must lie in [0, 1]"),
            ("budget = 100", "budget = 0", "positive total budget"),
        ];
        for (from, to, want) in cases {
            let bad: DistilConfig = toml::from_str(&text.replace(from, to)).unwrap();
            let err = bad.check().unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        let with_domain = format!("{text}\nin_domain = [\"afriqa-train\"]");
        let bad: DistilConfig = toml::from_str(&with_domain).unwrap();
        assert!(bad.check().unwrap_err().to_string().contains("in_domain"));
    }
}
