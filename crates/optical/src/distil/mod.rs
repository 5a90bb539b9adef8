//! Distillation of a query encoder for a low-resource language (LRL) from bitext: OPTICAL
//! (Huang, Yu & Allan, WSDM 2023) and the baselines it is compared with, at equal bitext and
//! equal compute.
//!
//! # Setting
//!
//! The *teacher* is a frozen retrieval encoder run on the English side of each pair in its
//! query role (e5: `"query: "` prefix), without dropout. The *student* starts as a copy of the
//! teacher (or of another checkpoint, [`DistilConfig::student`]) and is trained on the LRL side,
//! also in the query role. Token sets are the final-layer states of the *content* tokens (no
//! special tokens, no prefix): `s_1..s_m` for the LRL sentence, `t_1..t_n` for English, with
//! subword ids `u_i`, `v_j`; `p_s`, `p_t` are the pooled (mean, L2-normalised) sentence vectors.
//! The teacher's `t_j`, `v_j` and `p_t` are computed once per (teacher, texts, `max_len`) and
//! cached on disk ([`RunOptions::cache_dir`]), so the teacher never runs during training.
//!
//! # OPTICAL (`method = "optical"`)
//!
//! Per pair, two ground costs (both in `[0, 2]`):
//!
//! ```text
//! C_emb[i, j]  = 1 − cos(s_i, t_j)                 (differentiable in the student)
//! C_cooc[i, j] = 1 − Dice(u_i, v_j)                (cooc::CostTable, counted on the same bitext
//!                                                   with the student's (LRL) and teacher's
//!                                                   (English) token ids; never-seen pairs 1)
//! C_plan = C_emb | C_cooc | λ C_emb + (1 − λ) C_cooc          ([optical] cost, lambda)
//! ```
//!
//! (λ weighs the embedding cost, as in [`crate::align`].) Marginals `a`, `b` are uniform over
//! content tokens (`1/m`, `1/n`) or proportional to `idf(u) = ln((N+1)/(df(u)+1)) + 1` with
//! document frequencies over the same side of the bitext (`marginals = "idf"`). The plan
//!
//! ```text
//! P = argmin_{P ∈ U(a, b)} <P, C_plan> + eps KL(P ‖ a ⊗ b)
//! ```
//!
//! is solved for the whole batch at once (padded to `[B, m_max, n_max]`, zero marginal weight on
//! padding) by ot-core's log-domain batched Sinkhorn on tch ([`ot_core::tch_ot::sinkhorn_loss`],
//! `eps`, `max_iter`, `tol`); `reg_m` replaces the marginal constraints by
//! `reg_m (KL(P1 ‖ a) + KL(Pᵀ1 ‖ b))` (unbalanced OT). The token loss per pair is
//!
//! ```text
//! loss = "ot", loss_cost = "plan":       <P, C_plan>     (Envelope: OT_eps(a, b, C_plan))
//! loss = "ot", loss_cost = "embedding":  <P, C_emb>
//! loss = "barycentric":                  Σ_i a_i · mean_d (s_i − (P t)_i / (P1)_i)²
//! ```
//!
//! with the gradient through the solve chosen by `gradient`: `detach` (P constant), `envelope`
//! (gradient of `OT_eps`), `unrolled` (autograd through the iterations) or `implicit`
//! (implicit differentiation of the fixed point; balanced only). The batch loss is the mean over
//! pairs plus `sentence_weight · mean_B ‖p_s − p_t‖²`.
//!
//! **The paper's statement** (`configs/distil/optical-paper.toml`): the cost matrix is the
//! cross-lingual word co-occurrence matrix, the plan a soft token alignment, the loss the
//! Frobenius product of plan and cost. `<P, C_cooc>` does not depend on the student, so alone
//! it gives no gradient; the configuration therefore computes the plan from the co-occurrence
//! cost (`cost = "cooc"`) and takes the Frobenius product of that plan with the representation
//! distance (`loss_cost = "embedding"`): `loss = <P(C_cooc), C_emb>`. The co-occurrence plan
//! says which English token each LRL token should be close to; the gradient
//! `∂loss/∂s_i = Σ_j P_ij ∂C_emb[i, j]/∂s_i` pulls `s_i` towards its plan-weighted teacher
//! tokens. [`DistilConfig::check`] rejects `cost = "cooc"` with `loss_cost = "plan"` unless
//! another term gives a gradient.
//!
//! # Baselines (same bitext, same steps, same optimiser)
//!
//! - `sentence-kd` (Reimers & Gurevych 2020): `mean_B ‖p_s − p_t‖²`.
//! - `token-kd`: hard links from the co-occurrence cost block of each pair
//!   (`[token_kd] align`: mutual argmin with cost < 1, or competitive linking; links with cost
//!   ≥ `max_cost` dropped), loss `mean over links of mean_d (s_i − t_j)²` (+ `sentence_weight`
//!   times the sentence term).
//! - `infonce`: `−mean_k log softmax_l(cos(p_s^k, p_t^l) / τ)[k]` with the other pairs of the
//!   batch as negatives (`[infonce] temperature`; `symmetric` also adds the teacher-to-student
//!   direction).
//!
//! # Adversarial training (`[adversarial]`, any method; off by default)
//!
//! `E ∈ R^{B×L×d}` are the student's word embeddings of the batch
//! ([`clir_encoders::Encoder::embed_inputs`], transformers' `inputs_embeds`: the word-table rows
//! before position and token-type embeddings and the embedding layer norm), `M` its attention
//! mask and `L(E)` the method's own batch loss above (the teacher side is cached and never
//! perturbed). Norms of a perturbation are taken **per sequence** over all its real tokens
//! (specials and prefix included, padding held at 0): `‖δ_b‖ = (Σ_{l: M_bl = 1} Σ_k δ_blk²)^½`.
//!
//! **Embedding perturbation** (`embedding = { kind, epsilon, weight, steps, alpha }`):
//!
//! ```text
//! FGM (Miyato et al. 2017):  δ_b = ε g_b / ‖g_b‖,             g = ∂L(E)/∂E
//! PGD (Madry et al. 2018):   δ_0 = 0,  δ_{k+1} = Π_ε(δ_k + α g_k / ‖g_k‖),  g_k = ∂L(E + δ_k)/∂δ_k,
//!                            k = 0..steps,  Π_ε(δ)_b = δ_b · min(1, ε / ‖δ_b‖)
//! objective:                 L(E) + weight · L(E + δ)        (δ a constant)
//! ```
//!
//! `g_0` is the clean gradient, so PGD with `steps = 1, alpha = epsilon` is FGM; defaults
//! `steps = 3`, `alpha = 2.5 ε / steps`. With a frozen word table (`freeze_embeddings`) `E` is a
//! constant and `g` is the gradient with respect to a zero leaf added to it; otherwise the
//! perturbed term also trains the table. Every forward draws its own dropout masks. Cost per
//! step: FGM adds one input-only backward (through the kept clean graph) and one forward and
//! backward; PGD adds `steps − 1` forwards and input-only backwards more.
//!
//! **Language discriminator with gradient reversal** (Ganin & Lempitsky 2015; Chen et al.
//! 2018, Keung et al. 2019) (`language = { weight, lambda, on, hidden, lr }`): `x_s` are the
//! student's vectors of the batch — pooled `p_s` (`on = "sentence"`) or every content-token
//! state `s_i` (`on = "token"`) — and `x_t` the teacher's cached `p_t` or `t_j`. With
//! `D_θ(x) = w₂ᵀ relu(W₁ x + b₁) + b₂` (`hidden` units, [`Discriminator`]) and the balanced
//! binary cross-entropy (student = 1, English = 0)
//!
//! ```text
//! L_D(θ; x_s, x_t) = ½ [ mean_{x ∈ x_s} softplus(−D_θ(x)) + mean_{x ∈ x_t} softplus(D_θ(x)) ]
//! GRL_λ(x)         = x̄ + (x − x̄)(−λ),  x̄ = x detached     (forward x, backward −λ ·)
//! student:         L(E) [+ weight_e · L(E + δ)] + weight · L_D(θ̄; GRL_λ(x_s), x_t)
//! discriminator:   one AdamW step on L_D(θ; x̄_s, x_t)
//! ```
//!
//! (`θ̄`: the discriminator's parameters as constants.) The student thus receives
//! `−λ · weight · ∂L_D/∂x_s` and is pushed to make its LRL vectors indistinguishable from the
//! English ones, while the discriminator minimises its own unweighted loss on the same batch
//! (both updates from the same forward; the discriminator sees the student before its step).
//! Its AdamW runs at a constant `lr` (default `train.lr`) with `train.weight_decay` and
//! `train.grad_clip`, no warm-up; it is initialised as `torch.nn.Linear` from a seed derived
//! from `train.seed`. Its balanced accuracy `½ (share{D(x_s) > 0} + share{D(x_t) ≤ 0})`
//! (0.5 = chance), measured before its step, is reported per step and as a mean in
//! [`AdversarialReport`]. The reported loss history holds `L(E) [+ weight_e · L(E + δ)]`; the
//! reversed term (whose value is `weight · L_D`) is reported through the discriminator's loss.
//! The discriminator's parameters and moments are part of every checkpoint, so resuming stays
//! exact. The `[adversarial]` table is left out of the serialised configuration when both terms
//! are off, so configurations without it keep their [`DistilConfig::fingerprint`].
//!
//! # Optimisation, determinism and resuming
//!
//! AdamW ([`clir_encoders::Trainer`]: `lr`, `weight_decay`, linear warm-up over
//! `warmup_ratio` of the steps then `schedule`, global-norm clipping `grad_clip`), optionally with
//! the embedding tables frozen (`freeze_embeddings`, default: the 250k × 384 word table of e5
//! stays fixed). Epoch `e` visits the pairs in a ChaCha8 shuffle seeded by `(seed, e)`; step `k`
//! reseeds libtorch with a hash of `(seed, k)`, so dropout does not depend on the history.
//! Every `checkpoint_every` steps the trained parameters, the optimiser moments and the loss
//! history are written atomically to `out_dir/checkpoint/`; a run restarted with
//! [`RunOptions::resume`] continues from there and ends with the same weights as an
//! uninterrupted run. A finished run writes `out_dir/student/` (Hugging Face layout) and
//! `out_dir/record.json`, removes its checkpoint, and is returned from the record when asked
//! again with the same [`DistilConfig::fingerprint`].

pub mod adversarial;
mod checkpoint;
mod config;
pub mod loss;
mod run;
pub mod teacher;

pub use adversarial::Discriminator;
pub use checkpoint::CheckpointState;
pub use config::{
    AdversarialConfig, AdversaryInput, BitextConfig, BitextNoise, CostKind, DistilConfig,
    EmbeddingAdversary, GradientMode, HardAlign, InfoNceConfig, LanguageAdversary, LossCost,
    Marginals, Method, MixShare, OpticalConfig, OtLoss, PerturbKind, ScheduleName, TokenKdConfig,
    TrainSettings,
};
pub use run::{AdversarialReport, DistilReport, RunOptions, distil, distil_pairs, peak_rss_mb};
