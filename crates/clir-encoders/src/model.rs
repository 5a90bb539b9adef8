//! The BERT / XLM-R transformer encoder on tch.
//!
//! Follows `transformers.models.bert.modeling_bert` (`BertEmbeddings`, `BertLayer`) and
//! `xlm_roberta.modeling_xlm_roberta` (`create_position_ids_from_input_ids`): post-layer-norm
//! blocks, one token type, no pooler. Parameters live in a [`tch::nn::VarStore`] under
//! transformers' own names (`encoder.layer.3.attention.self.query.weight`), so loading and saving
//! are a rename-free copy.

use tch::{Kind, Tensor, nn};

use crate::{
    Error, Result,
    config::{Activation, Architecture, EncoderConfig},
    weights::Checkpoint,
};

struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn new(p: &nn::Path<'_>, out_dim: i64, in_dim: i64) -> Result<Self> {
        Ok(Self {
            weight: p.f_zeros("weight", &[out_dim, in_dim])?,
            bias: p.f_zeros("bias", &[out_dim])?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn new(p: &nn::Path<'_>, dim: i64, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: p.f_ones("weight", &[dim])?,
            bias: p.f_zeros("bias", &[dim])?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let d = self.weight.size()[0];
        Ok(x.f_layer_norm([d], Some(&self.weight), Some(&self.bias), self.eps, true)?)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    inter: Linear,
    out: Linear,
    out_norm: LayerNorm,
}

/// A BERT-family encoder: embeddings and `num_hidden_layers` transformer blocks.
pub struct Transformer {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    config: EncoderConfig,
    arch: Architecture,
    act: Activation,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("arch", &self.arch)
            .field("layers", &self.layers.len())
            .field("hidden_size", &self.config.hidden_size)
            .finish()
    }
}

/// Names and shapes of every parameter, in creation order.
pub(crate) fn parameter_shapes(c: &EncoderConfig) -> Vec<(String, Vec<i64>)> {
    let (d, ff) = (c.hidden_size, c.intermediate_size);
    let mut v = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![c.vocab_size, d],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![c.max_position_embeddings, d],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![c.type_vocab_size, d],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![d]),
        ("embeddings.LayerNorm.bias".into(), vec![d]),
    ];
    for i in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{i}.");
        for (name, out_dim, in_dim) in [
            ("attention.self.query", d, d),
            ("attention.self.key", d, d),
            ("attention.self.value", d, d),
            ("attention.output.dense", d, d),
            ("intermediate.dense", ff, d),
            ("output.dense", d, ff),
        ] {
            v.push((format!("{p}{name}.weight"), vec![out_dim, in_dim]));
            v.push((format!("{p}{name}.bias"), vec![out_dim]));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            v.push((format!("{p}{name}.weight"), vec![d]));
            v.push((format!("{p}{name}.bias"), vec![d]));
        }
    }
    v
}

impl Transformer {
    /// Creates the parameters under `p` (word embeddings zero, layer norms one).
    pub fn new(p: &nn::Path<'_>, config: &EncoderConfig) -> Result<Self> {
        config.check()?;
        let c = config;
        let arch = c.architecture().unwrap_or(Architecture::Bert);
        let act = c.activation().unwrap_or(Activation::Gelu);
        let (d, ff, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        let e = p.sub("embeddings");
        let word = e
            .sub("word_embeddings")
            .f_zeros("weight", &[c.vocab_size, d])?;
        let position = e
            .sub("position_embeddings")
            .f_zeros("weight", &[c.max_position_embeddings, d])?;
        let token_type = e
            .sub("token_type_embeddings")
            .f_zeros("weight", &[c.type_vocab_size, d])?;
        let emb_norm = LayerNorm::new(&e.sub("LayerNorm"), d, eps)?;
        let mut layers = Vec::new();
        for i in 0..c.num_hidden_layers {
            let l = p.sub("encoder").sub("layer").sub(i.to_string());
            let a = l.sub("attention");
            let s = a.sub("self");
            layers.push(Layer {
                query: Linear::new(&s.sub("query"), d, d)?,
                key: Linear::new(&s.sub("key"), d, d)?,
                value: Linear::new(&s.sub("value"), d, d)?,
                attn_out: Linear::new(&a.sub("output").sub("dense"), d, d)?,
                attn_norm: LayerNorm::new(&a.sub("output").sub("LayerNorm"), d, eps)?,
                inter: Linear::new(&l.sub("intermediate").sub("dense"), ff, d)?,
                out: Linear::new(&l.sub("output").sub("dense"), d, ff)?,
                out_norm: LayerNorm::new(&l.sub("output").sub("LayerNorm"), d, eps)?,
            });
        }
        Ok(Self {
            word,
            position,
            token_type,
            emb_norm,
            layers,
            config: config.clone(),
            arch,
            act,
        })
    }

    /// Copies every parameter from a checkpoint; names the tensor and file on a mismatch.
    pub(crate) fn load_from(&mut self, vs: &nn::VarStore, ck: &mut Checkpoint) -> Result<()> {
        let vars = vs.variables();
        let _guard = tch::no_grad_guard();
        for (name, shape) in parameter_shapes(&self.config) {
            let src = ck.take(&name, &shape)?;
            if let Some(dst) = vars.get(&name) {
                let mut dst = dst.shallow_clone();
                dst.f_copy_(&src)?;
            }
        }
        Ok(())
    }

    /// The configuration the encoder was built from.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Position ids: `0..L` for BERT; for RoBERTa/XLM-R `pad + cumsum(mask)` on real tokens and
    /// `pad` on padding (transformers' `create_position_ids_from_input_ids`).
    fn position_ids(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, l) = ids.size2()?;
        match self.arch {
            Architecture::Bert => Ok(Tensor::f_arange(l, (Kind::Int64, ids.device()))?
                .f_unsqueeze(0)?
                .f_expand([b, l], false)?),
            Architecture::Roberta => {
                let pad = self.config.pad_id();
                let mask = ids.f_ne(pad)?.f_to_kind(Kind::Int64)?;
                Ok(mask
                    .f_cumsum(1, Kind::Int64)?
                    .f_mul(&mask)?
                    .f_add_scalar(pad)?)
            }
        }
    }

    /// Final hidden states `[B, L, d]` for token ids `[B, L]` and attention mask `[B, L]`
    /// (1 = token, 0 = padding). `train` turns dropout on.
    pub fn forward(&self, ids: &Tensor, attention_mask: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_embeds(ids, &self.embed_inputs(ids)?, attention_mask, train)
    }

    /// The word embeddings `[B, L, d]` of token ids `[B, L]`: the rows of the word table, before
    /// position and token-type embeddings and the embedding layer norm — transformers'
    /// `inputs_embeds` (`BertEmbeddings.word_embeddings(input_ids)`). In the autograd graph of
    /// the word table when that requires gradients.
    pub fn embed_inputs(&self, ids: &Tensor) -> Result<Tensor> {
        Ok(Tensor::f_embedding(&self.word, ids, -1, false, false)?)
    }

    /// [`Transformer::forward`] from given word embeddings `inputs_embeds` `[B, L, d]` (for
    /// instance [`Transformer::embed_inputs`] plus a perturbation) instead of looking `ids` up.
    /// `ids` still give the position ids, so padded XLM-R rows are positioned exactly as in
    /// `forward` (transformers' `inputs_embeds` path, which has no ids, numbers padding too).
    pub fn forward_embeds(
        &self,
        ids: &Tensor,
        inputs_embeds: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, l) = ids.size2()?;
        let expected = [b, l, c.hidden_size];
        if inputs_embeds.size() != expected {
            return Err(Error::InvalidInput {
                reason: format!(
                    "inputs_embeds has shape {:?}, the ids need {expected:?}",
                    inputs_embeds.size()
                ),
            });
        }
        let pos = self.position_ids(ids)?;
        let posv = Tensor::f_embedding(&self.position, &pos, -1, false, false)?;
        let typ = self.token_type.f_get(0)?;
        let x = inputs_embeds.f_add(&posv)?.f_add(&typ)?;
        let mut x = self
            .emb_norm
            .forward(&x)?
            .f_dropout(c.hidden_dropout_prob, train)?;
        let kind = x.kind();
        // Additive mask as transformers builds it: 0 on tokens, the dtype's minimum on padding.
        let min = match kind {
            Kind::Half => -65504.0,
            Kind::BFloat16 => -3.389_531_389_251_535e38,
            _ => f32::MIN as f64,
        };
        // Without padding there is no mask at all (transformers drops an all-ones mask too),
        // which lets scaled-dot-product attention use its fused kernels.
        let padded = attention_mask.f_eq(0)?.f_any()?.f_int64_value(&[])? != 0;
        let bias = if padded {
            Some(
                Tensor::f_ones_like(attention_mask)?
                    .f_sub(attention_mask)?
                    .f_to_kind(kind)?
                    .f_mul_scalar(min)?
                    .f_view([b, 1, 1, l])?,
            )
        } else {
            None
        };
        let (nh, d) = (c.num_attention_heads, c.hidden_size);
        let hd = d / nh;
        let attn_drop = if train {
            c.attention_probs_dropout_prob
        } else {
            0.0
        };
        for layer in &self.layers {
            let heads =
                |t: Tensor| -> Result<Tensor> { Ok(t.f_view([b, l, nh, hd])?.f_transpose(1, 2)?) };
            let q = heads(layer.query.forward(&x)?)?;
            let k = heads(layer.key.forward(&x)?)?;
            let v = heads(layer.value.forward(&x)?)?;
            let ctx = Tensor::f_scaled_dot_product_attention(
                &q,
                &k,
                &v,
                bias.as_ref(),
                attn_drop,
                false,
                None,
                false,
            )?
            .f_transpose(1, 2)?
            .f_reshape([b, l, d])?;
            let a = layer
                .attn_out
                .forward(&ctx)?
                .f_dropout(c.hidden_dropout_prob, train)?;
            x = layer.attn_norm.forward(&a.f_add(&x)?)?;
            let h = layer.inter.forward(&x)?;
            let h = match self.act {
                Activation::Gelu => h.f_gelu("none")?,
                Activation::GeluTanh => h.f_gelu("tanh")?,
                Activation::Relu => h.f_relu()?,
                Activation::Silu => h.f_silu()?,
            };
            let o = layer
                .out
                .forward(&h)?
                .f_dropout(c.hidden_dropout_prob, train)?;
            x = layer.out_norm.forward(&o.f_add(&x)?)?;
        }
        Ok(x)
    }
}
