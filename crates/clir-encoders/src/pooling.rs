//! Sentence vectors from token states: CLS, masked mean, masked max; L2 normalisation.

use std::str::FromStr;

use tch::{Kind, Tensor};

use crate::{Error, Result};

/// How token states become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// The first token's state (`<s>` / `[CLS]`).
    Cls,
    /// Mean over tokens under the attention mask (specials included), as sentence-transformers
    /// and e5 do.
    #[default]
    Mean,
    /// Element-wise max over tokens under the attention mask.
    Max,
}

impl FromStr for Pooling {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cls" => Ok(Self::Cls),
            "mean" => Ok(Self::Mean),
            "max" => Ok(Self::Max),
            _ => Err(Error::InvalidInput {
                reason: format!("pooling {s:?} (expected cls, mean or max)"),
            }),
        }
    }
}

impl Pooling {
    /// Pools `states` `[B, L, d]` under `mask` `[B, L]` (1 = token) into `[B, d]`.
    pub fn pool(self, states: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let m = mask.f_to_kind(states.kind())?.f_unsqueeze(-1)?;
        Ok(match self {
            Self::Cls => states.f_select(1, 0)?,
            Self::Mean => {
                let sum = states
                    .f_mul(&m)?
                    .f_sum_dim_intlist(1, false, states.kind())?;
                let count = m
                    .f_sum_dim_intlist(1, false, states.kind())?
                    .f_clamp_min(1e-9)?;
                sum.f_div(&count)?
            }
            Self::Max => {
                let pad = m.f_eq(0.0)?;
                states.f_masked_fill(&pad, -1e9)?.f_amax(1, false)?
            }
        })
    }
}

/// Rows divided by their L2 norm (clamped at 1e-12, as `torch.nn.functional.normalize`).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let n = x.f_norm_scalaropt_dim(2, -1, true)?.f_clamp_min(1e-12)?;
    Ok(x.f_div(&n)?.f_to_kind(Kind::Float)?)
}
