//! Tokenisation through the `tokenizers` crate from a `tokenizer.json` (WordPiece, Unigram, BPE),
//! with the file's fixed padding and truncation replaced by per-batch padding and a `max_len`.

use std::path::Path;

use tch::{Device, Kind, Tensor};
use tokenizers::{
    Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy, tokenizer::Encoding,
};

use crate::{Error, Result};

/// A vocabulary id of the model's tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub u32);

/// A `tokenizer.json` with per-batch padding and truncation to `max_len` tokens (specials
/// included), adding the model's prefix (`query: `) if one is set.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    pad_id: u32,
}

/// One tokenised, padded batch, on a device.
#[derive(Debug)]
pub struct TokenBatch {
    /// Token ids `[B, L]`, `Int64`, padded with the tokenizer's pad id.
    pub ids: Tensor,
    /// `[B, L]` `Float`: 1 on tokens (specials included), 0 on padding.
    pub attention_mask: Tensor,
    /// `[B, L]` `Float`: 1 on content tokens only — no specials, no prefix tokens, no padding.
    pub content_mask: Tensor,
    /// Token ids per text, unpadded (specials included).
    pub token_ids: Vec<Vec<TokenId>>,
    /// Character offsets `(start, end)` of each token in the text as given (the prefix is not
    /// counted); specials and prefix tokens get `(0, 0)`.
    pub offsets: Vec<Vec<(usize, usize)>>,
}

impl TextTokenizer {
    /// Reads `tokenizer.json`; `pad_id` pads batches when the file names no padding token.
    pub fn load(path: impl AsRef<Path>, pad_id: u32) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::Io {
                path: path.into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no tokenizer.json"),
            });
        }
        let mut inner = Tokenizer::from_file(path).map_err(|source| Error::Tokenizer { source })?;
        let pad_id = inner
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| inner.token_to_id("<pad>"))
            .or_else(|| inner.token_to_id("[PAD]"))
            .unwrap_or(pad_id);
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|source| Error::Tokenizer { source })?;
        Ok(Self { inner, pad_id })
    }

    /// The wrapped `tokenizers` tokenizer (padding and truncation off).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// The padding id.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Tokenises `texts` (each prefixed with `prefix`) into encodings of at most `max_len`
    /// tokens, specials included, with character offsets.
    pub fn encodings(&self, texts: &[&str], prefix: &str, max_len: usize) -> Result<Vec<Encoding>> {
        let mut tok = self.inner.clone();
        tok.with_truncation(Some(TruncationParams {
            max_length: max_len,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|source| Error::Tokenizer { source })?;
        let inputs: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        tok.encode_batch_char_offsets(inputs, true)
            .map_err(|source| Error::Tokenizer { source })
    }

    /// Tokenises and pads `texts` into a [`TokenBatch`] on `device`.
    pub fn batch(
        &self,
        texts: &[&str],
        prefix: &str,
        max_len: usize,
        device: Device,
    ) -> Result<TokenBatch> {
        if texts.is_empty() {
            return Err(Error::InvalidInput {
                reason: "empty batch".into(),
            });
        }
        let encodings = self.encodings(texts, prefix, max_len)?;
        let plen = prefix.chars().count();
        let l = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let b = encodings.len();
        let mut ids = vec![self.pad_id as i64; b * l];
        let mut attn = vec![0f32; b * l];
        let mut content = vec![0f32; b * l];
        let mut token_ids = Vec::with_capacity(b);
        let mut offsets = Vec::with_capacity(b);
        for (i, e) in encodings.iter().enumerate() {
            let mut offs = Vec::with_capacity(e.len());
            for (j, ((&id, &special), &(s, t))) in e
                .get_ids()
                .iter()
                .zip(e.get_special_tokens_mask())
                .zip(e.get_offsets())
                .enumerate()
            {
                ids[i * l + j] = id as i64;
                attn[i * l + j] = 1.0;
                let is_content = special == 0 && t > plen;
                if is_content {
                    content[i * l + j] = 1.0;
                    offs.push((s.saturating_sub(plen), t - plen));
                } else {
                    offs.push((0, 0));
                }
            }
            token_ids.push(e.get_ids().iter().map(|&x| TokenId(x)).collect());
            offsets.push(offs);
        }
        let shape = [b as i64, l as i64];
        Ok(TokenBatch {
            ids: Tensor::f_from_slice(&ids)?.f_view(shape)?.f_to(device)?,
            attention_mask: Tensor::f_from_slice(&attn)?.f_view(shape)?.f_to(device)?,
            content_mask: Tensor::f_from_slice(&content)?
                .f_view(shape)?
                .f_to_kind(Kind::Float)?
                .f_to(device)?,
            token_ids,
            offsets,
        })
    }
}
