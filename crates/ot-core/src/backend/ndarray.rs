//! The always-built CPU backend over `ndarray`, for `f32` and `f64`, multi-threaded with rayon
//! once a problem is large enough to pay for it.

use std::marker::PhantomData;

use ndarray::{Array2, Array3, ArrayView2, Axis, NdFloat, Zip};
use num_traits::{FromPrimitive, ToPrimitive};
use rayon::prelude::*;

use super::{Backend, PlanStats, Side, WeightCheck};
use crate::Result;

/// The element types of [`NdArray`]: `f32` and `f64`.
pub trait Float: NdFloat + FromPrimitive + ToPrimitive + Default {
    /// Lossless-enough conversion from `f64`.
    fn of(x: f64) -> Self;
    /// Conversion to `f64`.
    fn f64(self) -> f64;
}

impl Float for f32 {
    #[allow(clippy::cast_possible_truncation)]
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn f64(self) -> f64 {
        self
    }
}

/// CPU backend over `ndarray` arrays of `F` (`f32` or `f64`): `Mat = Array3<F>`,
/// `Vec = Array2<F>`.
#[derive(Clone, Copy, Debug)]
pub struct NdArray<F> {
    /// Problems with at least this many cost entries (`m·n`) are split across rayon threads
    /// row-wise; smaller ones are run one per thread across the batch.
    pub parallel_threshold: usize,
    _f: PhantomData<F>,
}

impl<F> Default for NdArray<F> {
    fn default() -> Self {
        Self {
            parallel_threshold: 1 << 15,
            _f: PhantomData,
        }
    }
}

impl<F> NdArray<F> {
    /// The backend with default threading.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Rows per rayon task for the row-split kernels.
const ROW_CHUNK: usize = 16;

impl<F: Float> NdArray<F> {
    fn big(&self, m: usize, n: usize) -> bool {
        m * n >= self.parallel_threshold
    }

    /// Row soft-min of one problem into `out` (length m).
    #[allow(clippy::too_many_arguments)]
    fn softmin_rows_one(
        &self,
        cost: ArrayView2<'_, F>,
        h: &[F],
        log_own: &[F],
        eps: F,
        scale: F,
        out: &mut [F],
    ) {
        let inv = F::one() / eps;
        let row = |i: usize, c: &[F]| -> F {
            if !log_own[i].is_finite() {
                return F::zero();
            }
            let mut mx = F::neg_infinity();
            for (&hj, &cij) in h.iter().zip(c) {
                let t = hj - cij * inv;
                if t > mx {
                    mx = t;
                }
            }
            if !mx.is_finite() {
                return F::infinity();
            }
            let mut s = F::zero();
            for (&hj, &cij) in h.iter().zip(c) {
                s += (hj - cij * inv - mx).exp();
            }
            -scale * eps * (mx + s.ln())
        };
        let cost = cost.as_standard_layout();
        let data = cost.as_slice().expect("standard layout");
        let n = h.len();
        if self.big(out.len(), n) {
            out.par_chunks_mut(ROW_CHUNK)
                .enumerate()
                .for_each(|(k, chunk)| {
                    for (r, o) in chunk.iter_mut().enumerate() {
                        let i = k * ROW_CHUNK + r;
                        *o = row(i, &data[i * n..(i + 1) * n]);
                    }
                });
        } else {
            for (i, o) in out.iter_mut().enumerate() {
                *o = row(i, &data[i * n..(i + 1) * n]);
            }
        }
    }

    /// Column soft-min of one problem: max then sum-exp, swept row by row (cache friendly).
    #[allow(clippy::too_many_arguments)]
    fn softmin_cols_one(
        &self,
        cost: ArrayView2<'_, F>,
        h: &[F],
        log_own: &[F],
        eps: F,
        scale: F,
        out: &mut [F],
    ) {
        let inv = F::one() / eps;
        let cost = cost.as_standard_layout();
        let data = cost.as_slice().expect("standard layout");
        let n = out.len();
        let m = h.len();
        // Partial (max, sum) over a block of rows, relative to the block max.
        let block = |rows: std::ops::Range<usize>| -> (Vec<F>, Vec<F>) {
            let mut mx = vec![F::neg_infinity(); n];
            for i in rows.clone() {
                let hi = h[i];
                if !hi.is_finite() {
                    continue;
                }
                for (mj, &cij) in mx.iter_mut().zip(&data[i * n..(i + 1) * n]) {
                    let t = hi - cij * inv;
                    if t > *mj {
                        *mj = t;
                    }
                }
            }
            let mut s = vec![F::zero(); n];
            for i in rows {
                let hi = h[i];
                if !hi.is_finite() {
                    continue;
                }
                for ((sj, &mj), &cij) in s.iter_mut().zip(&mx).zip(&data[i * n..(i + 1) * n]) {
                    *sj += (hi - cij * inv - mj).exp();
                }
            }
            (mx, s)
        };
        let (mx, s) = if self.big(m, n) {
            let threads = rayon::current_num_threads().max(1);
            let per = m.div_ceil(threads * 2).max(ROW_CHUNK);
            (0..m.div_ceil(per))
                .into_par_iter()
                .map(|k| block(k * per..((k + 1) * per).min(m)))
                .reduce(
                    || (vec![F::neg_infinity(); n], vec![F::zero(); n]),
                    |(m1, s1), (m2, s2)| {
                        let mut mo = m1.clone();
                        let mut so = s1.clone();
                        for j in 0..n {
                            let mm = if m1[j] > m2[j] { m1[j] } else { m2[j] };
                            if !mm.is_finite() {
                                continue;
                            }
                            mo[j] = mm;
                            so[j] = s1[j] * (m1[j] - mm).exp() + s2[j] * (m2[j] - mm).exp();
                        }
                        (mo, so)
                    },
                )
        } else {
            block(0..m)
        };
        for j in 0..n {
            out[j] = if !log_own[j].is_finite() {
                F::zero()
            } else if !mx[j].is_finite() {
                F::infinity()
            } else {
                -scale * eps * (mx[j] + s[j].ln())
            };
        }
    }
}

/// Generalised KL term `r ln(r / a) − r + a` of one entry.
pub(crate) fn kl(r: f64, a: f64) -> f64 {
    if r > 0.0 { r * (r / a).ln() - r + a } else { a }
}

fn first_bad3<F: Float>(x: &Array3<F>) -> Option<([usize; 3], f64)> {
    x.indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map(|((b, i, j), v)| ([b, i, j], v.f64()))
}

impl<F: Float> Backend for NdArray<F> {
    type Mat = Array3<F>;
    type Vec = Array2<F>;

    fn mat_shape(&self, x: &Self::Mat) -> Result<Vec<usize>> {
        Ok(x.shape().to_vec())
    }

    fn vec_shape(&self, x: &Self::Vec) -> Result<Vec<usize>> {
        Ok(x.shape().to_vec())
    }

    fn find_non_finite(&self, x: &Self::Mat) -> Result<Option<([usize; 3], f64)>> {
        let all_finite = if x.len() >= self.parallel_threshold {
            x.as_standard_layout()
                .as_slice()
                .expect("standard layout")
                .par_iter()
                .all(|v| v.is_finite())
        } else {
            x.iter().all(|v| v.is_finite())
        };
        Ok(if all_finite { None } else { first_bad3(x) })
    }

    fn check_weights(&self, w: &Self::Vec) -> Result<WeightCheck> {
        let mut check = WeightCheck::default();
        for ((b, i), &v) in w.indexed_iter() {
            if !v.is_finite() && check.non_finite.is_none() {
                check.non_finite = Some(([b, i], v.f64()));
            }
            if v < F::zero() && check.negative.is_none() {
                check.negative = Some(([b, i], v.f64()));
            }
        }
        check.mass = w
            .outer_iter()
            .map(|r| r.iter().map(|v| v.f64()).sum())
            .collect();
        Ok(check)
    }

    fn log_weights(&self, w: &Self::Vec) -> Result<Self::Vec> {
        Ok(w.mapv(|v| {
            if v > F::zero() {
                v.ln()
            } else {
                F::neg_infinity()
            }
        }))
    }

    fn zeros_like(&self, like: &Self::Vec) -> Result<Self::Vec> {
        Ok(Array2::zeros(like.raw_dim()))
    }

    fn copy(&self, x: &Self::Vec) -> Result<Self::Vec> {
        Ok(x.clone())
    }

    fn softmin(
        &self,
        cost: &Self::Mat,
        side: Side,
        pot: &Self::Vec,
        log_w: &Self::Vec,
        log_own: &Self::Vec,
        eps: f64,
        scale: f64,
    ) -> Result<Self::Vec> {
        let (batch, m, n) = cost.dim();
        let len = match side {
            Side::Rows => m,
            Side::Cols => n,
        };
        let inv = F::of(1.0 / eps);
        let (eps, scale) = (F::of(eps), F::of(scale));
        let mut out = Array2::<F>::zeros((batch, len));
        let one = |k: usize, mut o: ndarray::ArrayViewMut1<'_, F>| {
            let h: Vec<F> = pot
                .row(k)
                .iter()
                .zip(log_w.row(k))
                .map(|(&p, &lw)| p * inv + lw)
                .collect();
            let own = log_own.row(k);
            let own = own.as_standard_layout();
            let own = own.as_slice().expect("contiguous");
            let o = o.as_slice_mut().expect("contiguous");
            match side {
                Side::Rows => {
                    self.softmin_rows_one(cost.index_axis(Axis(0), k), &h, own, eps, scale, o)
                }
                Side::Cols => {
                    self.softmin_cols_one(cost.index_axis(Axis(0), k), &h, own, eps, scale, o)
                }
            }
        };
        if batch > 1 && !self.big(m, n) {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .for_each(|(k, o)| one(k, o));
        } else {
            for (k, o) in out.axis_iter_mut(Axis(0)).enumerate() {
                one(k, o);
            }
        }
        Ok(out)
    }

    fn residual(
        &self,
        w: &Self::Vec,
        old: &Self::Vec,
        new: &Self::Vec,
        eps: f64,
    ) -> Result<Vec<f64>> {
        let inv = F::of(1.0 / eps);
        Ok((0..w.nrows())
            .map(|k| {
                let mut s = 0.0;
                for ((&wi, &o), &nw) in w.row(k).iter().zip(old.row(k)).zip(new.row(k)) {
                    if wi > F::zero() {
                        s += (wi * (((o - nw) * inv).exp() - F::one()).abs()).f64();
                    }
                }
                s
            })
            .collect())
    }

    fn plan(
        &self,
        cost: &Self::Mat,
        f: &Self::Vec,
        g: &Self::Vec,
        log_a: &Self::Vec,
        log_b: &Self::Vec,
        eps: f64,
    ) -> Result<Self::Mat> {
        let inv = F::of(1.0 / eps);
        let mut plan = Array3::<F>::zeros(cost.raw_dim());
        let fill = |k: usize, mut p: ndarray::ArrayViewMut2<'_, F>| {
            let hf: Vec<F> = f
                .row(k)
                .iter()
                .zip(log_a.row(k))
                .map(|(&x, &l)| x * inv + l)
                .collect();
            let hg: Vec<F> = g
                .row(k)
                .iter()
                .zip(log_b.row(k))
                .map(|(&x, &l)| x * inv + l)
                .collect();
            let c = cost.index_axis(Axis(0), k);
            Zip::indexed(&mut p).and(&c).for_each(|(i, j), p, &cij| {
                let t = hf[i] + hg[j] - cij * inv;
                *p = t.exp();
            });
        };
        plan.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(k, p)| fill(k, p));
        Ok(plan)
    }

    fn plan_stats(
        &self,
        plan: &Self::Mat,
        cost: &Self::Mat,
        f: &Self::Vec,
        g: &Self::Vec,
        a: &Self::Vec,
        b: &Self::Vec,
    ) -> Result<Vec<PlanStats>> {
        Ok((0..plan.shape()[0])
            .into_par_iter()
            .map(|k| {
                let p = plan.index_axis(Axis(0), k);
                let c = cost.index_axis(Axis(0), k);
                let (fk, gk) = (f.row(k), g.row(k));
                let mut st = PlanStats::default();
                let mut cols = vec![0.0; p.ncols()];
                let mut err = 0.0;
                for (i, (prow, crow)) in p.outer_iter().zip(c.outer_iter()).enumerate() {
                    let mut r = 0.0;
                    for (j, (&pij, &cij)) in prow.iter().zip(crow).enumerate() {
                        let pij = pij.f64();
                        if pij > 0.0 {
                            st.transport_cost += pij * cij.f64();
                            st.potential_term += pij * (fk[i].f64() + gk[j].f64());
                            r += pij;
                            cols[j] += pij;
                        }
                    }
                    st.mass += r;
                    let ai = a[[k, i]].f64();
                    err += (r - ai).abs();
                    st.marginal_kl += kl(r, ai);
                }
                for (j, &cj) in cols.iter().enumerate() {
                    let bj = b[[k, j]].f64();
                    err += (cj - bj).abs();
                    st.marginal_kl += kl(cj, bj);
                }
                st.marginal_error = err;
                st
            })
            .collect())
    }

    fn gibbs(&self, cost: &Self::Mat, eps: f64) -> Result<Self::Mat> {
        let inv = F::of(1.0 / eps);
        let mut k = cost.clone();
        k.par_mapv_inplace(|c| (-c * inv).exp());
        Ok(k)
    }

    fn scaling(
        &self,
        kernel: &Self::Mat,
        side: Side,
        x: &Self::Vec,
        w: &Self::Vec,
        own_w: &Self::Vec,
    ) -> Result<Self::Vec> {
        let wx = x * w;
        let (batch, m, n) = kernel.dim();
        let len = if side == Side::Rows { m } else { n };
        let mut out = Array2::<F>::zeros((batch, len));
        let big = self.big(m, n);
        let one = |k: usize, mut o: ndarray::ArrayViewMut1<'_, F>| {
            let kk = kernel.index_axis(Axis(0), k);
            let kk = kk.as_standard_layout();
            let data = kk.as_slice().expect("standard layout");
            let v = wx.row(k);
            let v: Vec<F> = v.iter().copied().collect();
            // Both products sweep K row by row (contiguous): a dot per row for `Rows`, an axpy
            // per row for `Cols`.
            let prod: Vec<F> = match side {
                Side::Rows => {
                    let row = |i: usize| {
                        data[i * n..(i + 1) * n]
                            .iter()
                            .zip(&v)
                            .fold(F::zero(), |s, (&x, &y)| s + x * y)
                    };
                    if big {
                        (0..m).into_par_iter().map(row).collect()
                    } else {
                        (0..m).map(row).collect()
                    }
                }
                Side::Cols => {
                    let block = |rows: std::ops::Range<usize>| {
                        let mut acc = vec![F::zero(); n];
                        for i in rows {
                            let vi = v[i];
                            for (a, &x) in acc.iter_mut().zip(&data[i * n..(i + 1) * n]) {
                                *a += vi * x;
                            }
                        }
                        acc
                    };
                    if big {
                        let per = m
                            .div_ceil(rayon::current_num_threads().max(1) * 2)
                            .max(ROW_CHUNK);
                        (0..m.div_ceil(per))
                            .into_par_iter()
                            .map(|c| block(c * per..((c + 1) * per).min(m)))
                            .reduce(
                                || vec![F::zero(); n],
                                |mut x, y| {
                                    x.iter_mut().zip(&y).for_each(|(a, &b)| *a += b);
                                    x
                                },
                            )
                    } else {
                        block(0..m)
                    }
                }
            };
            Zip::from(&mut o)
                .and(&prod[..])
                .and(own_w.row(k))
                .for_each(|o, &p, &ow| {
                    *o = if ow > F::zero() {
                        F::one() / p
                    } else {
                        F::zero()
                    };
                });
        };
        if batch > 1 && !big {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .for_each(|(k, o)| one(k, o));
        } else {
            for (k, o) in out.axis_iter_mut(Axis(0)).enumerate() {
                one(k, o);
            }
        }
        Ok(out)
    }

    fn scaling_residual(
        &self,
        w: &Self::Vec,
        old: &Self::Vec,
        new: &Self::Vec,
    ) -> Result<Vec<f64>> {
        Ok((0..w.nrows())
            .map(|k| {
                let mut s = 0.0;
                for ((&wi, &o), &nw) in w.row(k).iter().zip(old.row(k)).zip(new.row(k)) {
                    if wi > F::zero() {
                        s += (wi * (o / nw - F::one()).abs()).f64();
                    }
                }
                s
            })
            .collect())
    }

    fn scaling_to_potential(&self, u: &Self::Vec, w: &Self::Vec, eps: f64) -> Result<Self::Vec> {
        let eps = F::of(eps);
        let mut out = u.clone();
        Zip::from(&mut out).and(w).for_each(|o, &wi| {
            *o = if wi > F::zero() {
                eps * o.ln()
            } else {
                F::zero()
            };
        });
        Ok(out)
    }

    fn potential_to_scaling(&self, f: &Self::Vec, eps: f64) -> Result<Self::Vec> {
        let inv = F::of(1.0 / eps);
        Ok(f.mapv(|x| (x * inv).exp()))
    }
}
