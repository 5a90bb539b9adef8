//! `config.json` of BERT-family and XLM-R checkpoints, with transformers' defaults.
//!
//! Follows `transformers.BertConfig` and `XLMRobertaConfig` (4.57): every field the encoder reads
//! is optional in the file and defaults as there. Unknown fields are kept and written back on save.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The two position-id conventions of the supported families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// BERT, mBERT, MiniLM, multilingual-e5: positions `0..L`.
    Bert,
    /// RoBERTa, XLM-R, CamemBERT: positions start after `pad_token_id` and skip padding.
    Roberta,
}

/// The activation between the two feed-forward matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact (erf) GELU, transformers' `gelu`.
    Gelu,
    /// Tanh-approximated GELU (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    /// `relu`.
    Relu,
    /// `silu` / `swish`.
    Silu,
}

/// The subset of `config.json` that defines the encoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// `bert`, `roberta`, `xlm-roberta` or `camembert`.
    #[serde(default = "d_model_type")]
    pub model_type: String,
    /// Rows of the word-embedding matrix.
    #[serde(default = "d_vocab")]
    pub vocab_size: i64,
    /// Model width `d`.
    #[serde(default = "d_hidden")]
    pub hidden_size: i64,
    /// Number of transformer layers.
    #[serde(default = "d_layers")]
    pub num_hidden_layers: i64,
    /// Number of attention heads.
    #[serde(default = "d_layers")]
    pub num_attention_heads: i64,
    /// Feed-forward width.
    #[serde(default = "d_ffn")]
    pub intermediate_size: i64,
    /// Activation name, as transformers spells it.
    #[serde(default = "d_act")]
    pub hidden_act: String,
    /// Dropout after embeddings, attention output and feed-forward output.
    #[serde(default = "d_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    #[serde(default = "d_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Rows of the position-embedding matrix.
    #[serde(default = "d_maxpos")]
    pub max_position_embeddings: i64,
    /// Rows of the token-type matrix.
    #[serde(default = "d_types")]
    pub type_vocab_size: i64,
    /// Layer-norm epsilon.
    #[serde(default = "d_eps")]
    pub layer_norm_eps: f64,
    /// Padding id (transformers: 0 for BERT, 1 for RoBERTa/XLM-R).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_token_id: Option<i64>,
    /// Only `absolute` is supported.
    #[serde(default = "d_pos_type")]
    pub position_embedding_type: String,
    /// Every other field of the file, written back unchanged on save.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn d_model_type() -> String {
    "bert".into()
}
fn d_vocab() -> i64 {
    30522
}
fn d_hidden() -> i64 {
    768
}
fn d_layers() -> i64 {
    12
}
fn d_ffn() -> i64 {
    3072
}
fn d_act() -> String {
    "gelu".into()
}
fn d_dropout() -> f64 {
    0.1
}
fn d_maxpos() -> i64 {
    512
}
fn d_types() -> i64 {
    2
}
fn d_eps() -> f64 {
    1e-12
}
fn d_pos_type() -> String {
    "absolute".into()
}

impl EncoderConfig {
    /// Reads and checks `config.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let config: Self = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })?;
        if config.architecture().is_none() {
            return Err(Error::UnsupportedModel {
                path: path.into(),
                model_type: config.model_type,
            });
        }
        config.check()?;
        Ok(config)
    }

    /// Validates the sizes before any tensor is made.
    pub fn check(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidConfig { reason });
        if self.architecture().is_none() {
            return bad(format!("unsupported model_type {:?}", self.model_type));
        }
        if self.hidden_size <= 0 || self.num_attention_heads <= 0 {
            return bad("hidden_size and num_attention_heads must be positive".into());
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.position_embedding_type != "absolute" {
            return bad(format!(
                "position_embedding_type {:?} (only \"absolute\" is supported)",
                self.position_embedding_type
            ));
        }
        if self.activation().is_none() {
            return bad(format!("hidden_act {:?}", self.hidden_act));
        }
        Ok(())
    }

    /// The family, from `model_type`.
    pub fn architecture(&self) -> Option<Architecture> {
        match self.model_type.as_str() {
            "bert" => Some(Architecture::Bert),
            "roberta" | "xlm-roberta" | "camembert" => Some(Architecture::Roberta),
            _ => None,
        }
    }

    /// The feed-forward activation, from `hidden_act`.
    pub fn activation(&self) -> Option<Activation> {
        match self.hidden_act.as_str() {
            "gelu" => Some(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Activation::GeluTanh),
            "relu" => Some(Activation::Relu),
            "silu" | "swish" => Some(Activation::Silu),
            _ => None,
        }
    }

    /// `pad_token_id` with the family's default.
    pub fn pad_id(&self) -> i64 {
        self.pad_token_id.unwrap_or(match self.architecture() {
            Some(Architecture::Roberta) => 1,
            _ => 0,
        })
    }

    /// Longest input (special tokens included) the position table allows.
    pub fn max_tokens(&self) -> usize {
        let reserved = match self.architecture() {
            Some(Architecture::Roberta) => self.pad_id() + 1,
            _ => 0,
        };
        (self.max_position_embeddings - reserved).max(0) as usize
    }
}
