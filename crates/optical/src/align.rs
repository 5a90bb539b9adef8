//! Soft token alignment of sentence pairs: the entropic OT plan between the content tokens of a
//! low-resource sentence (student encoder) and of its English translation (teacher encoder).
//!
//! For a pair with `m` and `n` content tokens (special tokens excluded), the cost is
//!
//! ```text
//! C = λ · (1 − cos(s_i, t_j)) + (1 − λ) · C_cooc[i, j]        (λ = 1 without co-occurrence statistics)
//! ```
//!
//! with `s_i`, `t_j` the final-layer token states and `C_cooc` the co-occurrence cost block of
//! [`cooc::CostTable`] on the same token ids; the marginals are uniform over content tokens. The
//! plan `P = argmin <P, C> − eps H(P)` is solved for the whole batch at once (padded, masked) by
//! [`ot_core::Sinkhorn`]. Row `i` of `P`, divided by its mass `1/m`, is a distribution over the
//! English tokens: the soft alignment of source token `i`.

use clir_encoders::Encoder;
use clir_encoders::tch::{self, Kind, Tensor};
use cooc::{AlignMethod, Alignment, CostTable};
use ot_core::ndarray::{Array2, Array3};
use ot_core::{NdArray, Sinkhorn, Status};

use crate::Result;

/// How pairs are aligned.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignConfig {
    /// Weight of the embedding cost; `1 − lambda` goes to the co-occurrence cost when a
    /// [`CostTable`] is given (ignored otherwise).
    pub lambda: f32,
    /// Entropic regularisation (in cost units; both costs lie in `[0, 2]`).
    pub eps: f64,
    /// Sinkhorn iteration cap.
    pub max_iter: usize,
    /// Tolerance on the marginal violation.
    pub tol: f64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        Self {
            lambda: 0.5,
            eps: 0.05,
            max_iter: 1000,
            tol: 1e-6,
        }
    }
}

/// The soft alignment of one sentence pair.
#[derive(Debug, Clone)]
pub struct SoftAlignment {
    /// The source (low-resource) content tokens, as the tokenizer spells them.
    pub src_tokens: Vec<String>,
    /// The English content tokens.
    pub tgt_tokens: Vec<String>,
    /// The ids of `src_tokens` in the student's vocabulary.
    pub src_ids: Vec<i64>,
    /// The ids of `tgt_tokens` in the teacher's vocabulary.
    pub tgt_ids: Vec<i64>,
    /// The ground cost `[m, n]`.
    pub cost: Array2<f32>,
    /// The transport plan `[m, n]`; rows sum to `1/m`, columns to `1/n`.
    pub plan: Array2<f32>,
    /// `<P, C>`.
    pub transport_cost: f64,
    /// Whether Sinkhorn converged.
    pub status: Status,
    /// Sinkhorn iterations.
    pub iterations: usize,
}

impl SoftAlignment {
    /// For source token `i`: the English token with the largest plan mass and the share of row
    /// `i`'s mass it receives (in `[0, 1]`).
    pub fn best_target(&self, i: usize) -> Option<(usize, f32)> {
        let row = self.plan.row(i);
        let total: f32 = row.sum();
        let (j, &p) = row.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1))?;
        (total > 0.0).then_some((j, p / total))
    }
}

/// Content-token states of one encoded batch: per text, the `[k, d]` unit-norm rows and ids.
struct Content {
    states: Vec<Tensor>,
    ids: Vec<Vec<i64>>,
}

fn content(encoder: &Encoder, texts: &[&str]) -> Result<Content> {
    let out = tch::no_grad(|| encoder.encode(texts, false))?;
    let mut states = Vec::with_capacity(texts.len());
    let mut ids = Vec::with_capacity(texts.len());
    for (k, token_ids) in out.token_ids.iter().enumerate() {
        let k = k as i64;
        let mask: Vec<f32> =
            Vec::<f32>::try_from(out.content_mask.f_get(k)?.f_to_kind(Kind::Float)?)?;
        let keep: Vec<i64> = (0..token_ids.len())
            .filter(|&i| mask[i] > 0.5)
            .map(|i| i as i64)
            .collect();
        let index = Tensor::f_from_slice(&keep)?.f_to(encoder.device())?;
        let rows = out.states.f_get(k)?.f_index_select(0, &index)?;
        let norms = rows
            .f_norm_scalaropt_dim(2, [-1i64].as_slice(), true)?
            .f_clamp_min(1e-8)?;
        states.push(rows.f_div(&norms)?.f_to(tch::Device::Cpu)?);
        ids.push(
            keep.iter()
                .map(|&i| i64::from(token_ids[i as usize].0))
                .collect(),
        );
    }
    Ok(Content { states, ids })
}

fn spell(encoder: &Encoder, ids: &[i64]) -> Vec<String> {
    let tok = encoder.tokenizer().inner();
    ids.iter()
        .map(|&i| {
            tok.id_to_token(i as u32)
                .unwrap_or_else(|| format!("<{i}>"))
        })
        .collect()
}

/// Aligns each `(source, english)` pair: the source side through `student`, the English side
/// through `teacher` (they may be the same encoder), with co-occurrence costs from `cooc` when
/// given. The encoders must share the tokenizer that `cooc`'s statistics were counted with.
pub fn soft_align(
    student: &Encoder,
    teacher: &Encoder,
    cooc: Option<&CostTable>,
    pairs: &[(&str, &str)],
    config: &AlignConfig,
) -> Result<Vec<SoftAlignment>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let src: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let tgt: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    let (s, t) = (content(student, &src)?, content(teacher, &tgt)?);
    let batch = pairs.len();
    let m_max = s.ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let n_max = t.ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut cost = Array3::<f32>::zeros((batch, m_max, n_max));
    let mut a = Array2::<f32>::zeros((batch, m_max));
    let mut b = Array2::<f32>::zeros((batch, n_max));
    for k in 0..batch {
        let (m, n) = (s.ids[k].len(), t.ids[k].len());
        if m == 0 || n == 0 {
            continue; // an empty side: the problem is all padding, its plan all zero
        }
        let sim = s.states[k].f_matmul(&t.states[k].f_transpose(0, 1)?)?;
        let sim: Vec<f32> = Vec::<f32>::try_from(sim.f_flatten(0, -1)?)?;
        // (`s![]` slicing is avoided: the macro's `allow(unsafe_code)` clashes with `forbid`.)
        for i in 0..m {
            a[[k, i]] = 1.0 / m as f32;
            for j in 0..n {
                cost[[k, i, j]] = 1.0 - sim[i * n + j];
            }
        }
        for j in 0..n {
            b[[k, j]] = 1.0 / n as f32;
        }
    }
    if let Some(table) = cooc {
        let src_ids: Vec<_> = s.ids.iter().map(|ids| cooc::src_ids(ids)).collect();
        let tgt_ids: Vec<_> = t.ids.iter().map(|ids| cooc::tgt_ids(ids)).collect();
        let refs: Vec<_> = src_ids
            .iter()
            .zip(&tgt_ids)
            .map(|(x, y)| (&x[..], &y[..]))
            .collect();
        let block = table.cost_batch(&refs).cost;
        let (lambda, mu) = (config.lambda, 1.0 - config.lambda);
        for k in 0..batch {
            for i in 0..s.ids[k].len() {
                for j in 0..t.ids[k].len() {
                    let e = &mut cost[[k, i, j]];
                    *e = lambda * *e + mu * block[[k, i, j]];
                }
            }
        }
    }
    let solver = Sinkhorn::new(config.eps)
        .max_iter(config.max_iter)
        .tol(config.tol);
    let out = solver.solve(&NdArray::<f32>::new(), &cost, &a, &b)?;
    Ok((0..batch)
        .map(|k| {
            let (m, n) = (s.ids[k].len(), t.ids[k].len());
            SoftAlignment {
                src_tokens: spell(student, &s.ids[k]),
                tgt_tokens: spell(teacher, &t.ids[k]),
                src_ids: s.ids[k].clone(),
                tgt_ids: t.ids[k].clone(),
                cost: Array2::from_shape_fn((m, n), |(i, j)| cost[[k, i, j]]),
                plan: Array2::from_shape_fn((m, n), |(i, j)| out.plan[[k, i, j]]),
                transport_cost: out.transport_cost[k],
                status: out.status[k],
                iterations: out.iterations[k],
            }
        })
        .collect())
}

/// How far the hard links of one pair's OT plan agree with a statistical aligner's links
/// (Och & Ney's measures with the reference links as the sure and possible set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenAgreement {
    /// `1 − 2|A ∩ R| / (|A| + |R|)` for plan links `A` and reference links `R` (1 when both are
    /// empty: no evidence of agreement).
    pub aer: f64,
    /// `|A ∩ R| / |A|` (0 without plan links).
    pub precision: f64,
    /// `|A ∩ R| / |R|` (0 without reference links).
    pub recall: f64,
    /// `|A|`.
    pub plan_links: usize,
    /// `|R|`.
    pub reference_links: usize,
}

impl TokenAgreement {
    /// The agreement of `plan` links with `reference` links.
    pub fn between(plan: &Alignment, reference: &Alignment) -> Result<Self> {
        let report = cooc::align::aer(
            std::slice::from_ref(plan),
            std::slice::from_ref(reference),
            std::slice::from_ref(reference),
        )?;
        Ok(Self {
            aer: report.aer,
            precision: report.precision,
            recall: report.recall,
            plan_links: plan.0.len(),
            reference_links: reference.0.len(),
        })
    }
}

/// Token-level agreement of the student's soft alignments with co-occurrence alignments, pair by
/// pair: each pair's OT plan on the embedding cost alone (`config.lambda` is ignored, so the
/// statistics never enter the plan they are compared with), reduced to its mutual-argmax links
/// ([`cooc::align::align_plan`] at threshold 1), against Melamed's competitive linking on the
/// co-occurrence cost of `reference` over the same token ids ([`cooc::align::align`]; cells of cost 1,
/// never seen together, are never linked). There is no gold token alignment for the languages
/// this crate targets; the measure says how far the student's token geometry recovers the
/// translation links that bitext statistics find, not whether either is right.
///
/// `pairs` are aligned `batch` at a time (student and teacher may be the same encoder; both must
/// use the tokenizer `reference` was counted with).
pub fn token_agreement(
    student: &Encoder,
    teacher: &Encoder,
    reference: &CostTable,
    pairs: &[(&str, &str)],
    config: &AlignConfig,
    batch: usize,
) -> Result<Vec<TokenAgreement>> {
    let config = AlignConfig {
        lambda: 1.0,
        ..config.clone()
    };
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(batch.max(1)) {
        for al in soft_align(student, teacher, None, chunk, &config)? {
            let block = reference
                .cost_batch(&[(
                    &cooc::src_ids(&al.src_ids)[..],
                    &cooc::tgt_ids(&al.tgt_ids)[..],
                )])
                .cost;
            let (m, n) = al.plan.dim();
            let block = Array2::from_shape_fn((m, n), |(i, j)| block[[0, i, j]]);
            let links =
                cooc::align::align(&block, AlignMethod::CompetitiveLinking { max_cost: 1.0 });
            out.push(TokenAgreement::between(
                &cooc::align::align_plan(&al.plan, 1.0).normalized(),
                &links,
            )?);
        }
    }
    Ok(out)
}
