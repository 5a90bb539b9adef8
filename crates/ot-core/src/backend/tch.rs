//! The libtorch backend (feature `tch`): batched tensors on CPU or CUDA, a handful of fused
//! launches per half-iteration, autograd-friendly (the kernels are ordinary tensor ops, so the
//! loop can be differentiated through; see [`crate::tch_ot`]).

use tch::{Device, Kind, Tensor};

use super::{Backend, PlanStats, Side, WeightCheck};
use crate::Result;

/// libtorch backend: `Mat` and `Vec` are [`Tensor`]s of shape `[batch, m, n]` / `[batch, len]`
/// on `device`, of floating kind `kind` (`Float` or `Double`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tch {
    /// Where tensors made by [`Tch::tensor`] live.
    pub device: Device,
    /// Their element kind.
    pub kind: Kind,
}

impl Tch {
    /// A backend on `device` with element kind `kind`.
    pub fn new(device: Device, kind: Kind) -> Self {
        Self { device, kind }
    }

    /// Copies an `ndarray` array to a tensor of this backend's device and kind.
    pub fn tensor<D: ndarray::Dimension>(&self, x: &ndarray::Array<f64, D>) -> Result<Tensor> {
        let shape: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
        let data: Vec<f64> = x.iter().copied().collect();
        Ok(Tensor::f_from_slice(&data)?
            .f_reshape(&shape)?
            .f_to_kind(self.kind)?
            .f_to_device(self.device)?)
    }
}

/// All values of a tensor, as `f64`, on the host (row-major).
pub(crate) fn host(t: &Tensor) -> Result<Vec<f64>> {
    let t = t
        .f_detach()?
        .f_to_kind(Kind::Double)?
        .f_to_device(Device::Cpu)?
        .f_flatten(0, -1)?;
    Ok(Vec::<f64>::try_from(&t)?)
}

fn dims(t: &Tensor) -> Vec<usize> {
    t.size().iter().map(|&d| d as usize).collect()
}

/// First index where `bad` (a bool tensor) is true, with the value of `x` there.
fn first_true(bad: &Tensor, x: &Tensor) -> Result<Option<(Vec<usize>, f64)>> {
    let any = bad.f_any()?.f_int64_value(&[])? != 0;
    if !any {
        return Ok(None);
    }
    let idx = bad.f_nonzero()?.f_get(0)?;
    let idx: Vec<i64> = Vec::<i64>::try_from(&idx.f_to_device(Device::Cpu)?)?;
    let value = x
        .f_detach()?
        .f_to_kind(Kind::Double)?
        .f_double_value(&idx)?;
    Ok(Some((idx.iter().map(|&i| i as usize).collect(), value)))
}

impl Backend for Tch {
    type Mat = Tensor;
    type Vec = Tensor;

    fn mat_shape(&self, x: &Tensor) -> Result<Vec<usize>> {
        Ok(dims(x))
    }

    fn vec_shape(&self, x: &Tensor) -> Result<Vec<usize>> {
        Ok(dims(x))
    }

    fn find_non_finite(&self, x: &Tensor) -> Result<Option<([usize; 3], f64)>> {
        let bad = x.f_isfinite()?.f_logical_not()?;
        Ok(first_true(&bad, x)?.map(|(i, v)| ([i[0], i[1], i[2]], v)))
    }

    fn check_weights(&self, w: &Tensor) -> Result<WeightCheck> {
        let non_finite = first_true(&w.f_isfinite()?.f_logical_not()?, w)?;
        let negative = first_true(&w.f_lt(0.0)?, w)?;
        let mass = host(&w.f_sum_dim_intlist(&[1i64][..], false, Kind::Double)?)?;
        Ok(WeightCheck {
            non_finite: non_finite.map(|(i, v)| ([i[0], i[1]], v)),
            negative: negative.map(|(i, v)| ([i[0], i[1]], v)),
            mass,
        })
    }

    fn log_weights(&self, w: &Tensor) -> Result<Tensor> {
        // ln 0 = −inf marks masked entries; marginals are constants of the solve.
        Ok(w.f_detach()?.f_log()?)
    }

    fn zeros_like(&self, like: &Tensor) -> Result<Tensor> {
        Ok(like.f_detach()?.f_zeros_like()?)
    }

    fn copy(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.shallow_clone())
    }

    fn softmin(
        &self,
        cost: &Tensor,
        side: Side,
        pot: &Tensor,
        log_w: &Tensor,
        log_own: &Tensor,
        eps: f64,
        scale: f64,
    ) -> Result<Tensor> {
        let h = pot.f_div_scalar(eps)?.f_add(log_w)?;
        let (h, dim) = match side {
            Side::Rows => (h.f_unsqueeze(1)?, -1),
            Side::Cols => (h.f_unsqueeze(2)?, 1),
        };
        let lse = h
            .f_sub(&cost.f_div_scalar(eps)?)?
            .f_logsumexp(&[dim][..], false)?;
        let out = lse.f_mul_scalar(-scale * eps)?;
        let masked = log_own.f_isfinite()?.f_logical_not()?;
        Ok(out.f_masked_fill(&masked, 0.0)?)
    }

    fn residual(&self, w: &Tensor, old: &Tensor, new: &Tensor, eps: f64) -> Result<Vec<f64>> {
        let r = old
            .f_sub(new)?
            .f_div_scalar(eps)?
            .f_exp()?
            .f_sub_scalar(1.0)?
            .f_abs()?
            .f_mul(w)?
            .f_sum_dim_intlist(&[1i64][..], false, Kind::Double)?;
        host(&r)
    }

    fn plan(
        &self,
        cost: &Tensor,
        f: &Tensor,
        g: &Tensor,
        log_a: &Tensor,
        log_b: &Tensor,
        eps: f64,
    ) -> Result<Tensor> {
        let hf = f.f_div_scalar(eps)?.f_add(log_a)?.f_unsqueeze(2)?;
        let hg = g.f_div_scalar(eps)?.f_add(log_b)?.f_unsqueeze(1)?;
        Ok(hf.f_add(&hg)?.f_sub(&cost.f_div_scalar(eps)?)?.f_exp()?)
    }

    fn plan_stats(
        &self,
        plan: &Tensor,
        cost: &Tensor,
        f: &Tensor,
        g: &Tensor,
        a: &Tensor,
        b: &Tensor,
    ) -> Result<Vec<PlanStats>> {
        let _guard = tch::no_grad_guard();
        let p = plan.f_detach()?.f_to_kind(Kind::Double)?;
        let d = |t: &Tensor| -> Result<Tensor> { Ok(t.f_detach()?.f_to_kind(Kind::Double)?) };
        let sum12 = |t: &Tensor| -> Result<Vec<f64>> {
            host(&t.f_sum_dim_intlist(&[1i64, 2][..], false, Kind::Double)?)
        };
        let tc = sum12(&p.f_mul(&d(cost)?)?)?;
        let fg = d(f)?.f_unsqueeze(2)?.f_add(&d(g)?.f_unsqueeze(1)?)?;
        let pt = sum12(&p.f_mul(&fg)?)?;
        let rows = host(&p.f_sum_dim_intlist(&[2i64][..], false, Kind::Double)?)?;
        let cols = host(&p.f_sum_dim_intlist(&[1i64][..], false, Kind::Double)?)?;
        let (ah, bh) = (host(a)?, host(b)?);
        let batch = tc.len();
        let (m, n) = (ah.len() / batch, bh.len() / batch);
        Ok((0..batch)
            .map(|k| {
                let mut st = PlanStats {
                    transport_cost: tc[k],
                    potential_term: pt[k],
                    ..Default::default()
                };
                for i in 0..m {
                    let (r, ai) = (rows[k * m + i], ah[k * m + i]);
                    st.mass += r;
                    st.marginal_error += (r - ai).abs();
                    st.marginal_kl += super::ndarray::kl(r, ai);
                }
                for j in 0..n {
                    let (c, bj) = (cols[k * n + j], bh[k * n + j]);
                    st.marginal_error += (c - bj).abs();
                    st.marginal_kl += super::ndarray::kl(c, bj);
                }
                st
            })
            .collect())
    }

    fn gibbs(&self, cost: &Tensor, eps: f64) -> Result<Tensor> {
        Ok(cost.f_div_scalar(-eps)?.f_exp()?)
    }

    fn scaling(
        &self,
        kernel: &Tensor,
        side: Side,
        x: &Tensor,
        w: &Tensor,
        own_w: &Tensor,
    ) -> Result<Tensor> {
        let wx = x.f_mul(w)?.f_unsqueeze(-1)?;
        let k = match side {
            Side::Rows => kernel.shallow_clone(),
            Side::Cols => kernel.f_transpose(1, 2)?,
        };
        let out = k.f_bmm(&wx)?.f_squeeze_dim(-1)?.f_reciprocal()?;
        Ok(out.f_masked_fill(&own_w.f_le(0.0)?, 0.0)?)
    }

    fn scaling_residual(&self, w: &Tensor, old: &Tensor, new: &Tensor) -> Result<Vec<f64>> {
        // Masked entries are 0 / 0: count them as exact.
        let r = old
            .f_div(new)?
            .f_masked_fill(&w.f_le(0.0)?, 1.0)?
            .f_sub_scalar(1.0)?
            .f_abs()?
            .f_mul(w)?
            .f_sum_dim_intlist(&[1i64][..], false, Kind::Double)?;
        host(&r)
    }

    fn scaling_to_potential(&self, u: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
        Ok(u.f_log()?
            .f_mul_scalar(eps)?
            .f_masked_fill(&w.f_le(0.0)?, 0.0)?)
    }

    fn potential_to_scaling(&self, f: &Tensor, eps: f64) -> Result<Tensor> {
        Ok(f.f_div_scalar(eps)?.f_exp()?)
    }
}
