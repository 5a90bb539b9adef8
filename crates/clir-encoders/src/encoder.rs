//! [`Encoder`]: a model folder loaded on a device — tokenizer, transformer, optional projection
//! head and encoding options — with encode, embed, freeze and save.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor, nn};

use crate::{
    Error, Result,
    config::EncoderConfig,
    model::{Transformer, parameter_shapes},
    pooling::{Pooling, l2_normalize},
    tokenize::{TextTokenizer, TokenBatch, TokenId},
    weights::Checkpoint,
};

/// How texts are turned into vectors; every field has a builder method on [`Encoder`].
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// Sentence pooling.
    pub pooling: Pooling,
    /// L2-normalise pooled vectors.
    pub normalize: bool,
    /// Longest input in tokens, specials included (clamped to what positions allow).
    pub max_len: usize,
    /// Text prepended to every input, e.g. e5's `"query: "` / `"passage: "`.
    pub prefix: String,
    /// Run the forward pass under fp16 autocast; only honoured on CUDA.
    pub autocast: bool,
}

/// What one batch of texts becomes: what OPTICAL aligns and what retrieval scores.
#[derive(Debug)]
pub struct EncoderOutput {
    /// Final hidden states `[B, L, d]` (`Float`); part of the autograd graph unless encoded
    /// under `no_grad`.
    pub states: Tensor,
    /// `[B, L]` `Float`: 1 on tokens (specials included), 0 on padding.
    pub attention_mask: Tensor,
    /// `[B, L]` `Float`: 1 on content tokens only (no `<s>`/`</s>`/`[CLS]`/`[SEP]`, no prefix).
    pub content_mask: Tensor,
    /// Pooled sentence vectors `[B, d']` (through the projection head, normalised if asked).
    pub pooled: Tensor,
    /// Token ids per text (unpadded, specials included).
    pub token_ids: Vec<Vec<TokenId>>,
    /// Character offsets per token in the texts as given; `(0, 0)` for specials and prefix.
    pub offsets: Vec<Vec<(usize, usize)>>,
}

/// Which parameters stay fixed during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Freeze {
    /// Freeze the embedding tables and their layer norm.
    pub embeddings: bool,
    /// Freeze transformer layers `0..layers_below`.
    pub layers_below: usize,
}

/// A BERT / XLM-R sentence encoder loaded from a Hugging Face folder.
#[derive(Debug)]
pub struct Encoder {
    vs: nn::VarStore,
    model: Transformer,
    tokenizer: TextTokenizer,
    projection: Option<(Tensor, Tensor)>,
    options: EncodeOptions,
    dir: PathBuf,
}

const PROJECTION_FILE: &str = "projection.safetensors";

impl Encoder {
    /// Loads `config.json`, the weights and `tokenizer.json` of `dir` onto `device`, in fp32.
    ///
    /// A `projection.safetensors` (written by [`Encoder::save`] when a head is set) is loaded too.
    /// The e5 prefix is not set automatically: use [`Encoder::prefix`].
    pub fn load(dir: impl AsRef<Path>, device: Device) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::Io {
                path: dir.into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a model folder"),
            });
        }
        let config = EncoderConfig::load(dir.join("config.json"))?;
        let tokenizer =
            TextTokenizer::load(dir.join("tokenizer.json"), config.pad_id().max(0) as u32)?;
        let mut ck = Checkpoint::load(dir)?;
        let vs = nn::VarStore::new(device);
        let mut model = Transformer::new(&vs.root(), &config)?;
        model.load_from(&vs, &mut ck)?;
        let mut enc = Self {
            options: EncodeOptions {
                pooling: Pooling::Mean,
                normalize: false,
                max_len: config.max_tokens().min(512),
                prefix: String::new(),
                autocast: false,
            },
            vs,
            model,
            tokenizer,
            projection: None,
            dir: dir.into(),
        };
        let head = dir.join(PROJECTION_FILE);
        if head.is_file() {
            let tensors = Tensor::read_safetensors(&head)?;
            let get = |n: &str| {
                tensors
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, t)| t.shallow_clone())
                    .ok_or_else(|| Error::MissingTensor {
                        name: n.into(),
                        path: head.clone(),
                    })
            };
            let (w, b) = (get("projection.weight")?, get("projection.bias")?);
            enc.set_projection(&w, &b)?;
        }
        Ok(enc)
    }

    /// Sets the pooling.
    pub fn pooling(mut self, pooling: Pooling) -> Self {
        self.options.pooling = pooling;
        self
    }

    /// Sets L2 normalisation of pooled vectors.
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.options.normalize = normalize;
        self
    }

    /// Sets the longest input in tokens (specials included); clamped to the position table.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.options.max_len = max_len.clamp(2, self.model.config().max_tokens().max(2));
        self
    }

    /// Sets the text prepended to every input (e5: `"query: "` or `"passage: "`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = prefix.into();
        self
    }

    /// Runs forwards under fp16 autocast when on CUDA (ignored on CPU).
    pub fn autocast(mut self, autocast: bool) -> Self {
        self.options.autocast = autocast;
        self
    }

    /// The current options.
    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// The model configuration.
    pub fn config(&self) -> &EncoderConfig {
        self.model.config()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Width of the pooled vectors (the projection's output if a head is set).
    pub fn dim(&self) -> i64 {
        self.projection
            .as_ref()
            .map_or(self.config().hidden_size, |(w, _)| w.size()[0])
    }

    /// The parameters (transformers' names; the head as `projection.weight` / `.bias`).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Adds a trainable linear head `d -> out_dim` on pooled vectors, initialised as
    /// `torch.nn.Linear` (uniform in ±1/√d) from the current tch seed.
    pub fn add_projection(&mut self, out_dim: i64) -> Result<()> {
        let d = self.config().hidden_size;
        let bound = 1.0 / (d as f64).sqrt();
        let w = Tensor::f_empty([out_dim, d], (Kind::Float, tch::Device::Cpu))?
            .f_uniform_(-bound, bound)?;
        let b = Tensor::f_empty([out_dim], (Kind::Float, tch::Device::Cpu))?
            .f_uniform_(-bound, bound)?;
        self.set_projection(&w, &b)
    }

    fn set_projection(&mut self, w: &Tensor, b: &Tensor) -> Result<()> {
        let p = self.vs.root().sub("projection");
        let w = p.f_var_copy("weight", &w.f_to_kind(Kind::Float)?)?;
        let b = p.f_var_copy("bias", &b.f_to_kind(Kind::Float)?)?;
        self.projection = Some((w, b));
        Ok(())
    }

    /// Freezes parts of the model (and unfreezes the rest).
    pub fn freeze(&mut self, freeze: Freeze) -> Result<()> {
        for (name, t) in self.vs.variables() {
            let frozen = (freeze.embeddings && name.starts_with("embeddings."))
                || name
                    .strip_prefix("encoder.layer.")
                    .and_then(|r| r.split('.').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .is_some_and(|i| i < freeze.layers_below);
            let _ = t.f_set_requires_grad(!frozen)?;
        }
        Ok(())
    }

    /// Tokenises `texts` with the current prefix and `max_len`, padded to the longest.
    pub fn tokenize(&self, texts: &[&str]) -> Result<TokenBatch> {
        self.tokenizer.batch(
            texts,
            &self.options.prefix,
            self.options.max_len,
            self.device(),
        )
    }

    /// Runs a tokenised batch: token states, masks and pooled vectors. `train` turns dropout on.
    /// Gradients flow unless the call is inside [`tch::no_grad`].
    pub fn forward(&self, batch: TokenBatch, train: bool) -> Result<EncoderOutput> {
        let use_autocast = self.options.autocast && self.device().is_cuda();
        let states = tch::autocast(use_autocast, || {
            self.model.forward(&batch.ids, &batch.attention_mask, train)
        })?;
        self.finish(states, batch)
    }

    /// The word embeddings `[B, L, d]` of a tokenised batch, transformers' `inputs_embeds`
    /// (see [`Transformer::embed_inputs`]): what [`Encoder::forward_embeds`] takes, e.g. with an
    /// adversarial perturbation added. Gradients reach the word table only when it is trained
    /// (not [`Freeze::embeddings`]); the gradient with respect to these embeddings can always be
    /// taken by adding a leaf that requires it.
    ///
    /// ```
    /// use clir_encoders::{Encoder, tch::{self, Device}};
    /// # fn main() -> clir_encoders::Result<()> {
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-bert");
    /// let encoder = Encoder::load(dir, Device::Cpu)?;
    /// let batch = encoder.tokenize(&["a cat sat", "the dog"])?;
    /// let embeds = encoder.embed_inputs(&batch)?;
    /// let clean = tch::no_grad(|| encoder.forward_embeds(&batch, &embeds, false))?;
    /// let moved = tch::no_grad(|| encoder.forward_embeds(&batch, &(&embeds + 0.1), false))?;
    /// assert_eq!(clean.states.size(), moved.states.size());
    /// assert!((&clean.pooled - &moved.pooled).abs().max().double_value(&[]) > 0.0);
    /// # Ok(()) }
    /// ```
    pub fn embed_inputs(&self, batch: &TokenBatch) -> Result<Tensor> {
        self.model.embed_inputs(&batch.ids)
    }

    /// [`Encoder::forward`] from word embeddings `inputs_embeds` `[B, L, d]` in place of the
    /// batch's ids (which still give the positions, masks and ids of the output). With
    /// `inputs_embeds = embed_inputs(batch)` the result is exactly `forward(batch)`.
    pub fn forward_embeds(
        &self,
        batch: &TokenBatch,
        inputs_embeds: &Tensor,
        train: bool,
    ) -> Result<EncoderOutput> {
        let use_autocast = self.options.autocast && self.device().is_cuda();
        let states = tch::autocast(use_autocast, || {
            self.model
                .forward_embeds(&batch.ids, inputs_embeds, &batch.attention_mask, train)
        })?;
        let batch = TokenBatch {
            ids: batch.ids.shallow_clone(),
            attention_mask: batch.attention_mask.shallow_clone(),
            content_mask: batch.content_mask.shallow_clone(),
            token_ids: batch.token_ids.clone(),
            offsets: batch.offsets.clone(),
        };
        self.finish(states, batch)
    }

    /// Pools final states (through the head, normalised if asked) into an [`EncoderOutput`].
    fn finish(&self, states: Tensor, batch: TokenBatch) -> Result<EncoderOutput> {
        let states = states.f_to_kind(Kind::Float)?;
        let mut pooled = self.options.pooling.pool(&states, &batch.attention_mask)?;
        if let Some((w, b)) = &self.projection {
            pooled = pooled.f_linear(w, Some(b))?;
        }
        if self.options.normalize {
            pooled = l2_normalize(&pooled)?;
        }
        Ok(EncoderOutput {
            states,
            attention_mask: batch.attention_mask,
            content_mask: batch.content_mask,
            pooled,
            token_ids: batch.token_ids,
            offsets: batch.offsets,
        })
    }

    /// Tokenises and runs `texts` as one batch (see [`Encoder::forward`]).
    pub fn encode(&self, texts: &[&str], train: bool) -> Result<EncoderOutput> {
        self.forward(self.tokenize(texts)?, train)
    }

    /// Pooled vectors `[n, d']` on the CPU for any number of texts, without gradients, in
    /// batches of `batch_size` texts of similar length (sorted to cut padding), in input order.
    /// `progress` is called with the number of texts done after each batch.
    pub fn embed(
        &self,
        texts: &[&str],
        batch_size: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Tensor> {
        let batch_size = batch_size.max(1);
        if texts.is_empty() {
            return Ok(Tensor::f_zeros(
                [0, self.dim()],
                (Kind::Float, Device::Cpu),
            )?);
        }
        let lens: Vec<usize> = self
            .tokenizer
            .encodings(texts, &self.options.prefix, self.options.max_len)?
            .iter()
            .map(|e| e.len())
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
        let _guard = tch::no_grad_guard();
        let mut rows: Vec<Tensor> = Vec::with_capacity(texts.len().div_ceil(batch_size));
        let mut done = 0;
        for chunk in order.chunks(batch_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            rows.push(self.encode(&batch, false)?.pooled.f_to(Device::Cpu)?);
            done += chunk.len();
            progress(done);
        }
        let sorted = Tensor::f_cat(&rows, 0)?;
        let positions: Vec<i64> = order.iter().map(|&i| i as i64).collect();
        let index = Tensor::f_from_slice(&positions)?;
        // Row k of `sorted` is text order[k]: scatter it back to its place.
        let out = sorted.f_zeros_like()?;
        Ok(out.f_index_copy(0, &index, &sorted)?)
    }

    /// Writes the model in the Hugging Face layout — `model.safetensors` (fp32, transformers'
    /// names), `config.json`, `tokenizer.json` and the tokenizer side files of the source folder,
    /// plus `projection.safetensors` if a head is set — into a temporary folder next to `dir`,
    /// then renames it into place (replacing `dir`).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(".save-")
            .tempdir_in(&parent)
            .map_err(Error::io(&parent))?;
        let vars = self.vs.variables();
        let cpu =
            |t: &Tensor| -> Result<Tensor> { Ok(t.f_detach()?.f_to(Device::Cpu)?.f_contiguous()?) };
        let mut tensors = Vec::new();
        for (name, _) in parameter_shapes(self.config()) {
            if let Some(t) = vars.get(&name) {
                tensors.push((name, cpu(t)?));
            }
        }
        Tensor::write_safetensors(&tensors, tmp.path().join("model.safetensors"))?;
        if let Some((w, b)) = &self.projection {
            let head = [("projection.weight", cpu(w)?), ("projection.bias", cpu(b)?)];
            Tensor::write_safetensors(&head, tmp.path().join(PROJECTION_FILE))?;
        }
        let config_path = tmp.path().join("config.json");
        let json = serde_json::to_string_pretty(self.config()).map_err(|source| Error::Json {
            path: config_path.clone(),
            source,
        })?;
        std::fs::write(&config_path, json).map_err(Error::io(&config_path))?;
        for name in [
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "sentencepiece.bpe.model",
            "vocab.txt",
        ] {
            let src = self.dir.join(name);
            if src.is_file() {
                std::fs::copy(&src, tmp.path().join(name)).map_err(Error::io(&src))?;
            }
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(Error::io(dir))?;
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, dir).map_err(Error::io(dir))?;
        Ok(())
    }
}
