//! Adversarial training terms (`[adversarial]`, see the module docs of [`crate::distil`]):
//! the L2-ball perturbation of the student's word embeddings (FGM, PGD) and the language
//! discriminator trained through a gradient-reversal layer.

use std::path::Path;

use clir_encoders::tch::{self, Device, Kind, Reduction, Tensor, nn};
use clir_encoders::{Schedule, TrainConfig, Trainer};

use crate::{Error, Result};

const DISCRIMINATOR: &str = "discriminator.safetensors";
const DISCRIMINATOR_OPTIMIZER: &str = "discriminator_optimizer.safetensors";

/// Per-sequence L2 norm `[B, 1, 1]` of `x` `[B, L, d]` over its tokens and features.
fn sequence_norm(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_square()?
        .f_sum_dim_intlist(&[1i64, 2][..], true, None::<Kind>)?
        .f_sqrt()?)
}

/// `x` with padding positions zeroed; `mask` is `[B, L]` (1 = token).
fn masked(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    Ok(x.f_mul(&mask.f_to_kind(x.kind())?.f_unsqueeze(-1)?)?)
}

/// The FGM perturbation (Miyato et al. 2017) of the embeddings whose loss gradient is `grad`
/// `[B, L, d]`: `δ_b = ε g_b / ‖g_b‖` per sequence `b`, the norm taken over all real tokens of
/// the sequence (`mask` `[B, L]`, padding gets 0); a sequence with a zero gradient gets δ = 0.
/// Detached.
pub fn fgm_delta(grad: &Tensor, mask: &Tensor, epsilon: f64) -> Result<Tensor> {
    let g = masked(&grad.f_detach()?, mask)?;
    let norm = sequence_norm(&g)?;
    // 0 / max(0, tiny) = 0: zero-gradient sequences stay unperturbed.
    Ok(g.f_div(&norm.f_clamp_min(1e-20)?)?.f_mul_scalar(epsilon)?)
}

/// `delta` `[B, L, d]` projected onto the per-sequence L2 ball of radius `epsilon`
/// (`δ_b · min(1, ε / ‖δ_b‖)`). Detached.
pub fn project(delta: &Tensor, epsilon: f64) -> Result<Tensor> {
    let d = delta.f_detach()?;
    let scale = sequence_norm(&d)?
        .f_clamp_min(1e-20)?
        .f_reciprocal()?
        .f_mul_scalar(epsilon)?
        .f_clamp_max(1.0)?;
    Ok(d.f_mul(&scale)?)
}

/// The PGD perturbation (Madry et al. 2018, L2 ball per sequence as FreeLB): from `δ_0 = 0`,
/// `δ_{k+1} = Π_ε(δ_k + α g_k / ‖g_k‖)` for `k = 0..steps`, where `g_0 = grad` is the
/// gradient of the clean loss and `g_k` that of `loss_at(δ_k)` (the loss on `E + δ_k`) with
/// respect to `δ_k`. `steps = 1, alpha = epsilon` is FGM. Detached; padding stays zero.
pub fn pgd_delta(
    grad: &Tensor,
    mask: &Tensor,
    epsilon: f64,
    alpha: f64,
    steps: usize,
    mut loss_at: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let mut delta = project(&fgm_delta(grad, mask, alpha)?, epsilon)?;
    for _ in 1..steps {
        let leaf = delta.f_detach()?.f_set_requires_grad(true)?;
        let loss = loss_at(&leaf)?;
        let g = Tensor::f_run_backward(&[&loss], &[&leaf], false, false)?
            .pop()
            .ok_or_else(|| Error::Config {
                field: "adversarial.embedding".into(),
                reason: "no gradient with respect to the perturbation".into(),
            })?;
        delta = project(&delta.f_add(&fgm_delta(&g, mask, alpha)?)?, epsilon)?;
    }
    Ok(delta)
}

/// The gradient-reversal layer (Ganin & Lempitsky 2015): the identity forward (bit for bit),
/// `−λ ·` the incoming gradient backward. Written `x̄ + (x − x̄)(−λ)` with `x̄ = x.detach()`.
pub fn gradient_reversal(x: &Tensor, lambda: f64) -> Result<Tensor> {
    let fixed = x.f_detach()?;
    Ok(fixed.f_add(&x.f_sub(&fixed)?.f_mul_scalar(-lambda)?)?)
}

/// The rows of `states` `[B, m, d]` where `mask` `[B, m]` is 1, as `[N, d]`.
pub fn masked_rows(states: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, m, d) = states.size3()?;
    let index = mask
        .f_reshape([b * m])?
        .f_gt(0.5)?
        .f_nonzero()?
        .f_squeeze_dim(1)?;
    Ok(states.f_reshape([b * m, d])?.f_index_select(0, &index)?)
}

/// What the discriminator measured on one batch.
#[derive(Debug)]
pub struct DiscriminatorOutput {
    /// Balanced binary cross-entropy, `½ (mean_s BCE(D(x_s), 1) + mean_t BCE(D(x_t), 0))`.
    pub loss: Tensor,
    /// Balanced accuracy: the mean of the shares of student vectors with `D > 0` and of teacher
    /// vectors with `D ≤ 0` (0.5 = chance).
    pub accuracy: f64,
}

/// A one-hidden-layer MLP `D(x) = w₂ · relu(W₁ x + b₁) + b₂` that tells student (LRL) vectors
/// (label 1) from teacher (English) ones (label 0), with its own AdamW.
pub struct Discriminator {
    vs: nn::VarStore,
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    trainer: Trainer,
}

impl std::fmt::Debug for Discriminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discriminator")
            .field("dim", &self.w1.size()[1])
            .field("hidden", &self.w1.size()[0])
            .field("step", &self.trainer.step())
            .finish()
    }
}

impl Discriminator {
    /// A discriminator on `dim`-wide vectors with `hidden` units on `device`, initialised as
    /// `torch.nn.Linear` (uniform in ±1/√fan_in, drawn on the CPU from the current tch seed),
    /// trained by AdamW at a constant `lr` with `weight_decay` and global-norm clipping
    /// `grad_clip` (0 = none) over `total_steps`.
    pub fn new(
        dim: i64,
        hidden: i64,
        device: Device,
        lr: f64,
        weight_decay: f64,
        grad_clip: f64,
        total_steps: usize,
    ) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let root = vs.root().sub("discriminator");
        let uniform = |shape: &[i64], fan_in: i64| -> Result<Tensor> {
            let bound = 1.0 / (fan_in as f64).sqrt();
            Ok(Tensor::f_empty(shape, (Kind::Float, Device::Cpu))?.f_uniform_(-bound, bound)?)
        };
        // `torch.nn.Sequential(Linear, ReLU, Linear)`'s names: discriminator.{0,2}.{weight,bias}.
        let (first, second) = (root.sub("0"), root.sub("2"));
        let w1 = first.f_var_copy("weight", &uniform(&[hidden, dim], dim)?)?;
        let b1 = first.f_var_copy("bias", &uniform(&[hidden], dim)?)?;
        let w2 = second.f_var_copy("weight", &uniform(&[1, hidden], hidden)?)?;
        let b2 = second.f_var_copy("bias", &uniform(&[1], hidden)?)?;
        let config = TrainConfig::default()
            .lr(lr)
            .weight_decay(weight_decay)
            .warmup_steps(0)
            .total_steps(total_steps.max(1))
            .schedule(Schedule::Constant)
            .max_grad_norm((grad_clip > 0.0).then_some(grad_clip));
        let trainer = Trainer::new(&vs, config)?;
        Ok(Self {
            vs,
            w1,
            b1,
            w2,
            b2,
            trainer,
        })
    }

    /// Logits `[N]` of vectors `x` `[N, d]`; with `detach_params` the discriminator's
    /// parameters are constants (gradients reach `x` only).
    pub fn logits(&self, x: &Tensor, detach_params: bool) -> Result<Tensor> {
        let p = |t: &Tensor| -> Result<Tensor> {
            Ok(if detach_params {
                t.f_detach()?
            } else {
                t.shallow_clone()
            })
        };
        let h = x.f_linear(&p(&self.w1)?, Some(&p(&self.b1)?))?.f_relu()?;
        Ok(h.f_linear(&p(&self.w2)?, Some(&p(&self.b2)?))?
            .f_squeeze_dim(-1)?)
    }

    /// The balanced loss and accuracy on student vectors `student` `[N_s, d]` against teacher
    /// vectors `teacher` `[N_t, d]`.
    pub fn classify(
        &self,
        student: &Tensor,
        teacher: &Tensor,
        detach_params: bool,
    ) -> Result<DiscriminatorOutput> {
        let bce = |logits: &Tensor, label: f64| -> Result<Tensor> {
            let target = logits.f_detach()?.f_full_like(label)?;
            Ok(logits.f_binary_cross_entropy_with_logits(
                &target,
                None::<Tensor>,
                None::<Tensor>,
                Reduction::Mean,
            )?)
        };
        let (ls, lt) = (
            self.logits(student, detach_params)?,
            self.logits(teacher, detach_params)?,
        );
        let loss = bce(&ls, 1.0)?.f_add(&bce(&lt, 0.0)?)?.f_mul_scalar(0.5)?;
        let share = |hits: Tensor| -> Result<f64> {
            Ok(hits
                .f_to_kind(Kind::Double)?
                .f_mean(Kind::Double)?
                .f_double_value(&[])?)
        };
        let accuracy = 0.5 * (share(ls.f_gt(0.0)?)? + share(lt.f_le(0.0)?)?);
        Ok(DiscriminatorOutput { loss, accuracy })
    }

    /// One AdamW step of the discriminator on `loss` (its own parameters only).
    pub fn step(&mut self, loss: &Tensor) -> Result<()> {
        self.trainer.backward_step(loss)?;
        Ok(())
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> usize {
        self.trainer.step()
    }

    /// Writes the parameters and the optimiser state into the folder `dir`.
    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut cpu = Vec::with_capacity(vars.len());
        for (name, t) in vars {
            cpu.push((name, t.f_detach()?.f_to(Device::Cpu)?.f_contiguous()?));
        }
        Tensor::write_safetensors(&cpu, dir.join(DISCRIMINATOR))?;
        self.trainer.save_state(dir.join(DISCRIMINATOR_OPTIMIZER))?;
        Ok(())
    }

    /// Restores what [`Discriminator::save`] wrote into `dir`.
    pub(crate) fn load(&mut self, dir: &Path) -> Result<()> {
        let path = dir.join(DISCRIMINATOR);
        let resume_err = |reason: String| Error::Resume {
            path: path.clone(),
            reason,
        };
        let saved: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(&path)?.into_iter().collect();
        let vars = self.vs.variables();
        if saved.len() != vars.len() {
            return Err(resume_err(format!(
                "{} saved tensors for {} discriminator parameters",
                saved.len(),
                vars.len()
            )));
        }
        let _guard = tch::no_grad_guard();
        for (name, mut var) in vars {
            let value = saved
                .get(&name)
                .ok_or_else(|| resume_err(format!("no weights for `{name}`")))?;
            if value.size() != var.size() {
                return Err(resume_err(format!("`{name}` has another shape")));
            }
            var.f_copy_(value)?;
        }
        self.trainer.load_state(dir.join(DISCRIMINATOR_OPTIMIZER))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand(shape: &[i64]) -> Tensor {
        Tensor::randn(shape, (Kind::Float, Device::Cpu))
    }

    fn norms(x: &Tensor) -> Vec<f64> {
        let n = sequence_norm(x).unwrap().flatten(0, -1);
        Vec::<f64>::try_from(n.to_kind(Kind::Double)).unwrap()
    }

    fn mask() -> Tensor {
        Tensor::from_slice(&[1f32, 1., 1., 1., 1., 1., 1., 0., 0., 0.]).view([2, 5])
    }

    #[test]
    fn gradient_reversal_is_identity_forward_and_negates_backward() {
        tch::manual_seed(3);
        let x = rand(&[4, 6]).set_requires_grad(true);
        let w = rand(&[4, 6]);
        for lambda in [1.0, 0.3, 0.0] {
            let y = gradient_reversal(&x, lambda).unwrap();
            assert!(y.equal(&x.detach()), "forward must be x exactly");
            let g = Tensor::run_backward(&[(&y * &w).sum(Kind::Float)], &[&x], false, false);
            let expected = &w * -lambda;
            let diff = (&g[0] - &expected).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "lambda {lambda}: {diff}");
        }
    }

    #[test]
    fn fgm_lies_on_the_sphere_and_skips_padding() {
        tch::manual_seed(4);
        let g = rand(&[2, 5, 3]);
        let d = fgm_delta(&g, &mask(), 0.7).unwrap();
        for n in norms(&d) {
            approx::assert_relative_eq!(n, 0.7, max_relative = 1e-5);
        }
        assert!(d.get(1).narrow(0, 2, 3).abs().max().double_value(&[]) < 1e-12);
        let zero = fgm_delta(&g.zeros_like(), &mask(), 0.7).unwrap();
        assert!(zero.abs().max().double_value(&[]) < 1e-12);
    }

    #[test]
    fn pgd_stays_inside_the_ball_and_climbs_a_quadratic() {
        tch::manual_seed(5);
        let target = rand(&[2, 5, 3]);
        // loss(δ) = ‖δ − target‖² is maximised on the ball by δ = −ε target/‖target‖.
        let loss_at =
            |d: &Tensor| -> Result<Tensor> { Ok((d - &target).square().sum(Kind::Float)) };
        let g0 = target.f_mul_scalar(-2.0).unwrap();
        let ones = Tensor::ones([2, 5], (Kind::Float, Device::Cpu));
        for (eps, alpha, steps) in [(0.5, 0.2, 5), (1.0, 2.0, 3), (0.3, 0.3, 1)] {
            let d = pgd_delta(&g0, &ones, eps, alpha, steps, loss_at).unwrap();
            for n in norms(&d) {
                assert!(n <= eps * (1.0 + 1e-5), "norm {n} > {eps}");
            }
            let before = loss_at(&d.zeros_like()).unwrap().double_value(&[]);
            assert!(loss_at(&d).unwrap().double_value(&[]) > before);
        }
        // Many steps reach the maximiser.
        let d = pgd_delta(&g0, &ones, 0.5, 0.2, 20, loss_at).unwrap();
        let best = project(&target.f_mul_scalar(-1e6).unwrap(), 0.5).unwrap();
        assert!((&d - &best).abs().max().double_value(&[]) < 1e-4);
    }

    #[test]
    fn discriminator_learns_to_separate_and_round_trips() {
        tch::manual_seed(6);
        let mut d = Discriminator::new(8, 16, Device::Cpu, 1e-2, 0.0, 1.0, 200).unwrap();
        let s = rand(&[32, 8]) + 1.0;
        let t = rand(&[40, 8]) - 1.0;
        let first = d.classify(&s, &t, false).unwrap();
        for _ in 0..100 {
            let out = d.classify(&s, &t, false).unwrap();
            d.step(&out.loss).unwrap();
        }
        let last = d.classify(&s, &t, false).unwrap();
        assert!(last.loss.double_value(&[]) < first.loss.double_value(&[]));
        assert!(last.accuracy > 0.9 && last.accuracy <= 1.0);
        assert_eq!(d.steps(), 100);

        let dir = tempfile::tempdir().unwrap();
        d.save(dir.path()).unwrap();
        let mut e = Discriminator::new(8, 16, Device::Cpu, 1e-2, 0.0, 1.0, 200).unwrap();
        e.load(dir.path()).unwrap();
        assert_eq!(e.steps(), 100);
        assert!(
            e.logits(&s, false)
                .unwrap()
                .equal(&d.logits(&s, false).unwrap())
        );
        // A detached forward gives the parameters no gradient.
        let x = s.set_requires_grad(true);
        let l = e.classify(&x, &t, true).unwrap().loss;
        l.backward();
        assert!(!e.w1.grad().defined() || e.w1.grad().abs().max().double_value(&[]) <= 0.0);
        assert!(x.grad().abs().max().double_value(&[]) > 0.0);
    }
}
