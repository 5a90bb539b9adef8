//! Training an [`Encoder`](crate::Encoder): AdamW with decoupled weight decay (none on biases and
//! layer norms, as transformers' `Trainer`), linear warm-up then linear or cosine decay, global
//! gradient-norm clipping and gradient accumulation.
//!
//! The update follows `torch.optim.AdamW` exactly (bias-corrected moments, `eps` added to the
//! corrected second-moment root), so one step matches PyTorch's to float precision.

use std::path::Path;

use tch::{Kind, Tensor, nn::VarStore};

use crate::{Error, Result};

/// Learning-rate decay after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Constant after warm-up.
    Constant,
    /// Linear to zero at `total_steps` (transformers' `get_linear_schedule_with_warmup`).
    #[default]
    Linear,
    /// Half-cosine to zero at `total_steps` (`get_cosine_schedule_with_warmup`).
    Cosine,
}

/// Optimiser settings; consuming builder.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled weight decay (not applied to biases and layer-norm weights).
    pub weight_decay: f64,
    /// Adam betas.
    pub betas: (f64, f64),
    /// Adam epsilon.
    pub adam_eps: f64,
    /// Optimiser steps of linear warm-up from 0.
    pub warmup_steps: usize,
    /// Optimiser steps of the whole run (for the decay).
    pub total_steps: usize,
    /// Decay shape.
    pub schedule: Schedule,
    /// Clip the global gradient L2 norm to this (none if `None`).
    pub max_grad_norm: Option<f64>,
    /// Micro-batches whose gradients are summed into one optimiser step.
    pub accumulation: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            lr: 2e-5,
            weight_decay: 0.01,
            betas: (0.9, 0.999),
            adam_eps: 1e-8,
            warmup_steps: 0,
            total_steps: 1,
            schedule: Schedule::Linear,
            max_grad_norm: Some(1.0),
            accumulation: 1,
        }
    }
}

impl TrainConfig {
    /// Peak learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    /// Weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Warm-up steps.
    pub fn warmup_steps(mut self, n: usize) -> Self {
        self.warmup_steps = n;
        self
    }
    /// Total optimiser steps.
    pub fn total_steps(mut self, n: usize) -> Self {
        self.total_steps = n;
        self
    }
    /// Decay shape.
    pub fn schedule(mut self, s: Schedule) -> Self {
        self.schedule = s;
        self
    }
    /// Gradient clipping (global L2 norm).
    pub fn max_grad_norm(mut self, m: Option<f64>) -> Self {
        self.max_grad_norm = m;
        self
    }
    /// Gradient accumulation micro-batches.
    pub fn accumulation(mut self, n: usize) -> Self {
        self.accumulation = n;
        self
    }

    /// Checks the settings before any work.
    pub fn check(&self) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::InvalidConfig {
                reason: reason.into(),
            })
        };
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return bad("lr must be finite and >= 0");
        }
        if self.weight_decay < 0.0 {
            return bad("weight_decay must be >= 0");
        }
        if !(0.0..1.0).contains(&self.betas.0) || !(0.0..1.0).contains(&self.betas.1) {
            return bad("betas must lie in [0, 1)");
        }
        if self.accumulation == 0 || self.total_steps == 0 {
            return bad("accumulation and total_steps must be >= 1");
        }
        if self.max_grad_norm.is_some_and(|m| m <= 0.0) {
            return bad("max_grad_norm must be > 0");
        }
        Ok(())
    }

    /// The learning rate at optimiser step `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * step as f64 / self.warmup_steps.max(1) as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Linear => self.lr * (1.0 - progress),
            Schedule::Cosine => self.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

/// What one call to [`Trainer::backward_step`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Whether the optimiser stepped (the last micro-batch of an accumulation group).
    pub stepped: bool,
    /// Optimiser steps taken so far.
    pub step: usize,
    /// The learning rate used (when stepped).
    pub lr: f64,
    /// Global gradient norm before clipping (when stepped).
    pub grad_norm: f64,
}

struct Param {
    name: String,
    value: Tensor,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// AdamW over the trainable variables of a [`VarStore`].
pub struct Trainer {
    config: TrainConfig,
    params: Vec<Param>,
    step: usize,
    micro: usize,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("params", &self.params.len())
            .field("step", &self.step)
            .finish()
    }
}

/// Seeds libtorch's generators (CPU and CUDA) for reproducible initialisation and dropout.
pub fn seed(seed: u64) {
    tch::manual_seed(seed as i64);
    tch::Cuda::manual_seed_all(seed);
}

impl Trainer {
    /// An optimiser over the variables of `vs` that require gradients now (freeze first).
    pub fn new(vs: &VarStore, config: TrainConfig) -> Result<Self> {
        config.check()?;
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut params = Vec::new();
        for (name, value) in vars {
            if !value.requires_grad() {
                continue;
            }
            let decay = !(name.ends_with(".bias") || name.contains("LayerNorm"));
            params.push(Param {
                m: value.f_zeros_like()?,
                v: value.f_zeros_like()?,
                name,
                value,
                decay,
            });
        }
        Ok(Self {
            config,
            params,
            step: 0,
            micro: 0,
        })
    }

    /// Names of the parameters being trained.
    pub fn parameter_names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| p.name.as_str())
    }

    /// Back-propagates `loss / accumulation`; on the last micro-batch of a group clips, applies
    /// AdamW at the scheduled learning rate and clears the gradients.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<StepReport> {
        loss.f_div_scalar(self.config.accumulation as f64)?
            .f_backward()?;
        self.micro += 1;
        if self.micro < self.config.accumulation {
            return Ok(StepReport {
                stepped: false,
                step: self.step,
                lr: 0.0,
                grad_norm: 0.0,
            });
        }
        self.micro = 0;
        let lr = self.config.lr_at(self.step);
        let grad_norm = self.apply(lr)?;
        self.step += 1;
        Ok(StepReport {
            stepped: true,
            step: self.step,
            lr,
            grad_norm,
        })
    }

    fn apply(&mut self, lr: f64) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let grads: Vec<Option<Tensor>> = self
            .params
            .iter()
            .map(|p| {
                let g = p.value.f_grad()?;
                Ok(g.defined().then_some(g))
            })
            .collect::<Result<_>>()?;
        let mut sq = 0.0;
        for g in grads.iter().flatten() {
            sq += g
                .f_to_kind(Kind::Double)?
                .f_square()?
                .f_sum(Kind::Double)?
                .f_double_value(&[])?;
        }
        let norm = sq.sqrt();
        let clip = match self.config.max_grad_norm {
            Some(max) if norm > max => Some(max / (norm + 1e-6)),
            _ => None,
        };
        let (b1, b2) = self.config.betas;
        let t = (self.step + 1) as i32;
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        for (p, g) in self.params.iter_mut().zip(grads) {
            let Some(mut g) = g else { continue };
            if let Some(clip) = clip {
                g = g.f_mul_scalar(clip)?;
            }
            if p.decay && self.config.weight_decay > 0.0 {
                let _ = p.value.f_mul_scalar_(1.0 - lr * self.config.weight_decay)?;
            }
            let _ = p.m.f_mul_scalar_(b1)?.f_add_(&g.f_mul_scalar(1.0 - b1)?)?;
            let _ =
                p.v.f_mul_scalar_(b2)?
                    .f_add_(&g.f_square()?.f_mul_scalar(1.0 - b2)?)?;
            let denom =
                p.v.f_div_scalar(c2)?
                    .f_sqrt()?
                    .f_add_scalar(self.config.adam_eps)?;
            let update = p.m.f_div(&denom)?.f_mul_scalar(lr / c1)?;
            let _ = p.value.f_sub_(&update)?;
            let mut grad = p.value.f_grad()?;
            let _ = grad.f_zero_()?;
        }
        Ok(norm)
    }

    /// Optimiser steps taken.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Writes the optimiser state — both moments of every trained parameter (as
    /// `exp_avg.<name>` / `exp_avg_sq.<name>`, PyTorch's names) and the step and micro-batch
    /// counters (`state`: `[step, micro]`) — to a safetensors file, so that a run can resume
    /// with exactly the update it would have made. The parameters themselves are not written.
    pub fn save_state(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let cpu = |t: &Tensor| -> Result<Tensor> {
            Ok(t.f_detach()?.f_to(tch::Device::Cpu)?.f_contiguous()?)
        };
        let mut tensors = Vec::with_capacity(2 * self.params.len() + 1);
        tensors.push((
            "state".to_string(),
            Tensor::f_from_slice(&[self.step as i64, self.micro as i64])?,
        ));
        for p in &self.params {
            tensors.push((format!("exp_avg.{}", p.name), cpu(&p.m)?));
            tensors.push((format!("exp_avg_sq.{}", p.name), cpu(&p.v)?));
        }
        Tensor::write_safetensors(&tensors, path)?;
        Ok(())
    }

    /// Restores a state written by [`Trainer::save_state`] for the same trained parameters
    /// (names and shapes must match; the configuration is this trainer's own).
    pub fn load_state(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::Io {
                path: path.into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no optimiser state"),
            });
        }
        let mut tensors: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(path)?.into_iter().collect();
        let mut take = |name: String, like: Option<&Tensor>| -> Result<Tensor> {
            let t = tensors.remove(&name).ok_or_else(|| Error::MissingTensor {
                name: name.clone(),
                path: path.into(),
            })?;
            match like {
                Some(like) if t.size() != like.size() => Err(Error::TensorShape {
                    name,
                    path: path.into(),
                    expected: like.size(),
                    found: t.size(),
                }),
                Some(like) => Ok(t.f_to_kind(like.kind())?.f_to(like.device())?),
                None => Ok(t),
            }
        };
        let state = Vec::<i64>::try_from(take("state".into(), None)?)?;
        let [step, micro] = state[..] else {
            return Err(Error::InvalidInput {
                reason: format!("{}: `state` must hold [step, micro]", path.display()),
            });
        };
        let mut moments = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let m = take(format!("exp_avg.{}", p.name), Some(&p.value))?;
            let v = take(format!("exp_avg_sq.{}", p.name), Some(&p.value))?;
            moments.push((m, v));
        }
        if let Some(extra) = tensors.keys().next() {
            return Err(Error::InvalidInput {
                reason: format!(
                    "{}: optimiser state for `{extra}`, which this trainer does not train",
                    path.display()
                ),
            });
        }
        for (p, (m, v)) in self.params.iter_mut().zip(moments) {
            p.m = m;
            p.v = v;
        }
        self.step = step.max(0) as usize;
        self.micro = micro.max(0) as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, nn};

    fn store(shape: &[i64]) -> (VarStore, Tensor) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().sub("layer").var(
            "weight",
            shape,
            nn::Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        );
        (vs, w)
    }

    fn loss(w: &Tensor, k: usize) -> Tensor {
        let target = Tensor::randn(w.size(), (Kind::Float, Device::Cpu));
        (w * (k as f64 + 1.0) - target).square().sum(Kind::Float)
    }

    #[test]
    fn resumed_optimiser_takes_exactly_the_same_steps() {
        let cfg = TrainConfig::default()
            .lr(0.05)
            .total_steps(6)
            .warmup_steps(2);
        tch::manual_seed(3);
        let (vs_a, w_a) = store(&[3, 4]);
        let mut a = Trainer::new(&vs_a, cfg.clone()).unwrap();
        for k in 0..3 {
            tch::manual_seed(100 + k as i64);
            a.backward_step(&loss(&w_a, k)).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optimizer.safetensors");
        a.save_state(&path).unwrap();

        let (vs_b, mut w_b) = store(&[3, 4]);
        tch::no_grad(|| w_b.copy_(&w_a));
        let mut b = Trainer::new(&vs_b, cfg.clone()).unwrap();
        b.load_state(&path).unwrap();
        assert_eq!(b.step(), 3);
        for k in 3..6 {
            tch::manual_seed(100 + k as i64);
            a.backward_step(&loss(&w_a, k)).unwrap();
            tch::manual_seed(100 + k as i64);
            b.backward_step(&loss(&w_b, k)).unwrap();
        }
        let diff = (&w_a - &w_b).abs().max().double_value(&[]);
        assert!(diff < 1e-12, "resumed parameters differ by {diff}");

        let (vs_c, _) = store(&[2, 4]);
        let mut c = Trainer::new(&vs_c, cfg).unwrap();
        assert!(matches!(
            c.load_state(&path),
            Err(Error::TensorShape { .. })
        ));
    }
}
