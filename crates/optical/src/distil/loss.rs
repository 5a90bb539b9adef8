//! The training objectives on one batch: token gathering, ground costs, marginals and the four
//! losses (OPTICAL, sentence KD, token KD, InfoNCE). Every function takes tensors already on
//! the training device and returns a scalar (batch mean) in the autograd graph of the student.

use std::collections::HashMap;
use std::time::Instant;

use clir_encoders::tch::{self, Device, Kind, Tensor};
use cooc::{AlignMethod, CostTable};
use ot_core::Sinkhorn;
use ot_core::tch_ot::sinkhorn_loss;

use super::config::{CostKind, HardAlign, LossCost, OpticalConfig, OtLoss, TokenKdConfig};
use crate::Result;

/// Host positions of the content tokens of each row of a `[B, L]` content mask.
pub(crate) fn content_positions(mask: &Tensor) -> Result<Vec<Vec<usize>>> {
    let (b, l) = mask.size2()?;
    let host: Vec<f32> = Vec::<f32>::try_from(
        mask.f_to_kind(Kind::Float)?
            .f_to(Device::Cpu)?
            .f_flatten(0, -1)?,
    )?;
    Ok((0..b as usize)
        .map(|r| {
            (0..l as usize)
                .filter(|&p| host[r * l as usize + p] > 0.5)
                .collect()
        })
        .collect())
}

/// Content tokens of a batch gathered into a padded block.
#[derive(Debug)]
pub struct Tokens {
    /// `[B, m_max, d]` (zero rows on padding); in the autograd graph of the states.
    pub states: Tensor,
    /// `[B, m_max]` `Float`: 1 on real tokens.
    pub mask: Tensor,
    /// Content-token ids per text.
    pub ids: Vec<Vec<i64>>,
}

/// Gathers the content tokens (no specials, no prefix) of `states` `[B, L, d]`.
pub fn gather_content(
    states: &Tensor,
    content_mask: &Tensor,
    token_ids: &[Vec<clir_encoders::TokenId>],
) -> Result<Tokens> {
    let (b, l, d) = states.size3()?;
    let positions = content_positions(content_mask)?;
    let m_max = positions.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut index = vec![0i64; b as usize * m_max];
    let mut mask = vec![0f32; b as usize * m_max];
    let mut ids = Vec::with_capacity(b as usize);
    for (r, pos) in positions.iter().enumerate() {
        for (i, &p) in pos.iter().enumerate() {
            index[r * m_max + i] = r as i64 * l + p as i64;
            mask[r * m_max + i] = 1.0;
        }
        ids.push(pos.iter().map(|&p| i64::from(token_ids[r][p].0)).collect());
    }
    let device = states.device();
    let index = Tensor::f_from_slice(&index)?.f_to(device)?;
    let mask = Tensor::f_from_slice(&mask)?
        .f_view([b, m_max as i64])?
        .f_to(device)?;
    let gathered = states
        .f_reshape([b * l, d])?
        .f_index_select(0, &index)?
        .f_view([b, m_max as i64, d])?
        .f_mul(&mask.f_unsqueeze(-1)?)?;
    Ok(Tokens {
        states: gathered,
        mask,
        ids,
    })
}

/// Rows divided by their L2 norm (zero rows stay zero).
fn unit(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .f_norm_scalaropt_dim(2, [-1i64].as_slice(), true)?
        .f_clamp_min(1e-8)?;
    Ok(x.f_div(&norm)?)
}

/// `C_emb[b, i, j] = 1 − cos(s_bi, t_bj)`, `[B, m, n]`.
pub fn embedding_cost(s: &Tensor, t: &Tensor) -> Result<Tensor> {
    let sim = unit(s)?.f_bmm(&unit(t)?.f_transpose(1, 2)?)?;
    Ok(sim.f_neg()?.f_add_scalar(1.0)?)
}

/// The co-occurrence cost block `[B, m_max, n_max]` of the given content ids (padding 1).
pub fn cooc_cost(
    table: &CostTable,
    src: &[Vec<i64>],
    tgt: &[Vec<i64>],
    m_max: usize,
    n_max: usize,
    device: Device,
) -> Result<Tensor> {
    let src_ids: Vec<_> = src.iter().map(|x| cooc::src_ids(x)).collect();
    let tgt_ids: Vec<_> = tgt.iter().map(|x| cooc::tgt_ids(x)).collect();
    let refs: Vec<_> = src_ids
        .iter()
        .zip(&tgt_ids)
        .map(|(s, t)| (&s[..], &t[..]))
        .collect();
    let block = table.cost_batch(&refs).cost;
    let b = src.len();
    let mut out = vec![1f32; b * m_max * n_max];
    for k in 0..b {
        for i in 0..src[k].len().min(m_max) {
            for j in 0..tgt[k].len().min(n_max) {
                out[(k * m_max + i) * n_max + j] = block[[k, i, j]];
            }
        }
    }
    Ok(Tensor::f_from_slice(&out)?
        .f_view([b as i64, m_max as i64, n_max as i64])?
        .f_to(device)?)
}

/// Inverse document frequencies of token ids over the sentences of one side:
/// `idf(u) = ln((N + 1) / (df(u) + 1)) + 1`.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    df: HashMap<i64, u32>,
    n: usize,
}

impl Idf {
    /// Counts document frequencies over `docs` (each a sentence's token ids).
    pub fn new<'a>(docs: impl IntoIterator<Item = &'a [i64]>) -> Self {
        let mut df: HashMap<i64, u32> = HashMap::new();
        let mut n = 0;
        for doc in docs {
            n += 1;
            let mut types = doc.to_vec();
            types.sort_unstable();
            types.dedup();
            for t in types {
                *df.entry(t).or_default() += 1;
            }
        }
        Self { df, n }
    }

    /// `idf(id)`.
    pub fn weight(&self, id: i64) -> f32 {
        let df = self.df.get(&id).copied().unwrap_or(0) as f64;
        (((self.n as f64 + 1.0) / (df + 1.0)).ln() + 1.0) as f32
    }
}

/// Marginals `[B, width]` on `device`: uniform over each row's tokens or IDF-weighted, zero on
/// padding, each row summing to 1 (all zero for a text without content tokens).
pub fn marginals(
    ids: &[Vec<i64>],
    width: usize,
    idf: Option<&Idf>,
    device: Device,
) -> Result<Tensor> {
    let mut w = vec![0f32; ids.len() * width];
    for (r, row) in ids.iter().enumerate() {
        let n = row.len().min(width);
        let weights: Vec<f32> = row[..n]
            .iter()
            .map(|&id| idf.map_or(1.0, |f| f.weight(id)))
            .collect();
        let total: f32 = weights.iter().sum();
        if total > 0.0 {
            for (i, x) in weights.iter().enumerate() {
                w[r * width + i] = x / total;
            }
        }
    }
    Ok(Tensor::f_from_slice(&w)?
        .f_view([ids.len() as i64, width as i64])?
        .f_to(device)?)
}

/// What the OPTICAL loss measured besides its value.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtStats {
    /// Seconds spent in Sinkhorn (device synchronised before the clock stops).
    pub sinkhorn_s: f64,
    /// Problems of the batch that hit `max_iter` or diverged.
    pub not_converged: usize,
    /// Mean Sinkhorn iterations.
    pub iterations: f64,
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn sum12(t: &Tensor) -> Result<Tensor> {
    Ok(t.f_sum_dim_intlist(&[1i64, 2][..], false, None::<Kind>)?)
}

/// The OPTICAL token loss of a batch (mean over pairs), see the module docs of
/// [`crate::distil`]. `cooc` is the co-occurrence block when the configuration uses it.
pub fn optical_loss(
    cfg: &OpticalConfig,
    s: &Tokens,
    t: &Tokens,
    cooc: Option<&Tensor>,
    a: &Tensor,
    b: &Tensor,
) -> Result<(Tensor, OtStats)> {
    let c_emb = embedding_cost(&s.states, &t.states)?;
    let need_cooc = || {
        cooc.ok_or_else(|| crate::Error::Config {
            field: "optical.cost".into(),
            reason: "the co-occurrence cost was not prepared".into(),
        })
    };
    let c_plan = match cfg.cost {
        CostKind::Embedding => c_emb.shallow_clone(),
        CostKind::Cooc => need_cooc()?.shallow_clone(),
        CostKind::Mix => c_emb
            .f_mul_scalar(cfg.lambda)?
            .f_add(&need_cooc()?.f_mul_scalar(1.0 - cfg.lambda)?)?,
    };
    let mut solver = Sinkhorn::new(cfg.eps).max_iter(cfg.max_iter).tol(cfg.tol);
    if let Some(r) = cfg.reg_m {
        solver = solver.reg_m(r);
    }
    let device = c_plan.device();
    sync(device);
    let started = Instant::now();
    let out = sinkhorn_loss(&solver, &c_plan, a, b, cfg.gradient.to_ot())?;
    sync(device);
    let sinkhorn_s = started.elapsed().as_secs_f64();
    let per_pair = match cfg.loss {
        OtLoss::Ot => match cfg.loss_cost {
            LossCost::Plan => out.loss.shallow_clone(),
            LossCost::Embedding => sum12(&out.plan.f_mul(&c_emb)?)?,
        },
        OtLoss::Barycentric => {
            let mass = out
                .plan
                .f_sum_dim_intlist(&[2i64][..], true, None::<Kind>)?
                .f_clamp_min(1e-12)?;
            let target = out.plan.f_bmm(&t.states)?.f_div(&mass)?;
            let err = s.states.f_sub(&target)?.f_square()?.f_mean_dim(
                &[-1i64][..],
                false,
                None::<Kind>,
            )?;
            err.f_mul(a)?
                .f_sum_dim_intlist(&[1i64][..], false, None::<Kind>)?
        }
    };
    let n = out.status.len().max(1);
    let stats = OtStats {
        sinkhorn_s,
        not_converged: out
            .status
            .iter()
            .filter(|s| **s != ot_core::Status::Converged)
            .count(),
        iterations: out.iterations.iter().sum::<usize>() as f64 / n as f64,
    };
    Ok((per_pair.f_mean(Kind::Float)?, stats))
}

/// The sentence term: mean over the batch of `‖p_s − p_t‖²` (for unit vectors `2 − 2 cos`;
/// `d` times the element-wise MSE of Reimers & Gurevych).
pub fn sentence_loss(student: &Tensor, teacher: &Tensor) -> Result<Tensor> {
    Ok(student
        .f_sub(teacher)?
        .f_square()?
        .f_sum_dim_intlist(&[-1i64][..], false, None::<Kind>)?
        .f_mean(Kind::Float)?)
}

/// Token KD on hard alignments read off the co-occurrence cost of each pair: the mean over all
/// links of the batch of `mean_d (s_i − t_j)²`, and the number of links.
pub fn token_kd_loss(
    cfg: &TokenKdConfig,
    table: &CostTable,
    s: &Tokens,
    t: &Tokens,
) -> Result<(Tensor, usize)> {
    let (b, m_max, d) = s.states.size3()?;
    let n_max = t.states.size()[1];
    let method = match cfg.align {
        HardAlign::ArgmaxIntersection => AlignMethod::ArgmaxIntersection,
        HardAlign::CompetitiveLinking => AlignMethod::CompetitiveLinking {
            max_cost: cfg.max_cost as f32,
        },
    };
    let (mut si, mut ti) = (Vec::new(), Vec::new());
    for k in 0..b as usize {
        let block = table.cost_block(&cooc::src_ids(&s.ids[k]), &cooc::tgt_ids(&t.ids[k]));
        for (i, j) in cooc::align::align(&block, method).0 {
            if block[[i, j]] < cfg.max_cost as f32 {
                si.push(k as i64 * m_max + i as i64);
                ti.push(k as i64 * n_max + j as i64);
            }
        }
    }
    if si.is_empty() {
        // No link in the batch: a zero that keeps the graph (so backward still runs).
        return Ok((s.states.f_sum(Kind::Float)?.f_mul_scalar(0.0)?, 0));
    }
    let device = s.states.device();
    let si_t = Tensor::f_from_slice(&si)?.f_to(device)?;
    let ti_t = Tensor::f_from_slice(&ti)?.f_to(device)?;
    let sv = s
        .states
        .f_reshape([b * m_max, d])?
        .f_index_select(0, &si_t)?;
    let tv = t
        .states
        .f_reshape([b * n_max, d])?
        .f_index_select(0, &ti_t)?;
    Ok((sv.f_sub(&tv)?.f_square()?.f_mean(Kind::Float)?, si.len()))
}

/// InfoNCE with in-batch negatives: `−log softmax(cos(p_s, p_t) / τ)` at the translation, mean
/// over the batch (and over both directions when `symmetric`).
pub fn infonce_loss(
    student: &Tensor,
    teacher: &Tensor,
    temperature: f64,
    symmetric: bool,
) -> Result<Tensor> {
    let logits = unit(student)?
        .f_matmul(&unit(teacher)?.f_transpose(0, 1)?)?
        .f_div_scalar(temperature)?;
    let forward = logits
        .f_log_softmax(-1, Kind::Float)?
        .f_diagonal(0, 0, 1)?
        .f_mean(Kind::Float)?
        .f_neg()?;
    if !symmetric {
        return Ok(forward);
    }
    let backward = logits
        .f_log_softmax(0, Kind::Float)?
        .f_diagonal(0, 0, 1)?
        .f_mean(Kind::Float)?
        .f_neg()?;
    Ok(forward.f_add(&backward)?.f_mul_scalar(0.5)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand(shape: &[i64]) -> Tensor {
        Tensor::randn(shape, (Kind::Float, Device::Cpu))
    }

    #[test]
    fn embedding_cost_is_one_minus_cosine() {
        tch::manual_seed(1);
        let s = rand(&[2, 3, 8]);
        let t = rand(&[2, 4, 8]);
        let c = embedding_cost(&s, &t).unwrap();
        assert_eq!(c.size(), [2, 3, 4]);
        let (x, y) = (s.get(1).get(2), t.get(1).get(3));
        let cos =
            x.dot(&y).double_value(&[]) / (x.norm().double_value(&[]) * y.norm().double_value(&[]));
        assert!((c.double_value(&[1, 2, 3]) - (1.0 - cos)).abs() < 1e-5);
    }

    #[test]
    fn marginals_sum_to_one_and_mask_padding() {
        let ids = vec![vec![5, 6, 7], vec![5]];
        let a = marginals(&ids, 3, None, Device::Cpu).unwrap();
        assert!((a.double_value(&[0, 1]) - 1.0 / 3.0).abs() < 1e-6);
        assert!(a.double_value(&[1, 1]).abs() < 1e-12);
        let idf = Idf::new([&[5i64, 6][..], &[5][..], &[7][..]]);
        assert!(idf.weight(6) > idf.weight(5));
        let a = marginals(&ids, 3, Some(&idf), Device::Cpu).unwrap();
        let row: f64 = (0..3).map(|i| a.double_value(&[0, i])).sum();
        assert!((row - 1.0).abs() < 1e-6);
        assert!(a.double_value(&[0, 1]) > a.double_value(&[0, 0]));
    }

    #[test]
    fn infonce_prefers_matching_pairs() {
        tch::manual_seed(2);
        let t = rand(&[4, 16]);
        let good = infonce_loss(&t, &t, 0.05, false).unwrap().double_value(&[]);
        let bad = infonce_loss(
            &t.roll([1i64].as_slice(), [0i64].as_slice()),
            &t,
            0.05,
            true,
        )
        .unwrap()
        .double_value(&[]);
        assert!(good < bad);
    }
}
