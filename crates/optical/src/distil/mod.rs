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

mod checkpoint;
mod config;
pub mod loss;
mod run;
pub mod teacher;

pub use checkpoint::CheckpointState;
pub use config::{
    BitextConfig, CostKind, DistilConfig, GradientMode, HardAlign, InfoNceConfig, LossCost,
    Marginals, Method, OpticalConfig, OtLoss, ScheduleName, TokenKdConfig, TrainSettings,
};
pub use run::{DistilReport, RunOptions, distil, distil_pairs, peak_rss_mb};
