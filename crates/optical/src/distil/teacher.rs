//! The frozen teacher's English side, computed once per (teacher, texts, length) and cached on
//! disk: content-token states, their ids and the pooled sentence vectors. Every seed and method
//! trained on the same bitext reuses it, so the teacher never runs during training.

use std::path::{Path, PathBuf};

use clir_encoders::Encoder;
use clir_encoders::tch::{self, Device, Kind, Tensor};
use sha2::{Digest, Sha256};

use super::config::hex;
use crate::{Error, Result};

/// Bumped when the cache layout changes.
const FORMAT: &str = "optical-teacher-cache-v1";

/// Teacher outputs for a list of texts, on the CPU.
#[derive(Debug)]
pub struct TeacherCache {
    /// `[total, d]` content-token states of all texts, concatenated in text order.
    states: Tensor,
    /// Row offsets into `states`: text `k` owns rows `offsets[k]..offsets[k + 1]`.
    offsets: Vec<usize>,
    /// Content-token ids, concatenated like `states`.
    ids: Vec<i64>,
    /// `[n, d]` pooled (normalised) sentence vectors.
    pooled: Tensor,
}

/// One batch of teacher outputs, padded and on the training device.
#[derive(Debug)]
pub struct TeacherBatch {
    /// `[B, n_max, d]` content-token states (zero rows on padding).
    pub states: Tensor,
    /// `[B, n_max]` `Float`: 1 on real tokens.
    pub mask: Tensor,
    /// Content-token ids per text.
    pub ids: Vec<Vec<i64>>,
    /// `[B, d]` pooled vectors.
    pub pooled: Tensor,
}

impl TeacherCache {
    /// The cache key of the teacher in `teacher_dir` on `texts`, without loading it: its
    /// `config.json` (which holds the prefixes), the sizes of its weight and tokenizer files,
    /// `options` (how it is configured, e.g. role and `max_len`) and the texts.
    pub fn key(teacher_dir: &Path, options: &str, texts: &[&str]) -> Result<String> {
        let mut h = Sha256::new();
        h.update(FORMAT.as_bytes());
        let config = teacher_dir.join("config.json");
        let bytes = std::fs::read(&config).map_err(|source| Error::Io {
            path: config.clone(),
            source,
        })?;
        h.update(&bytes);
        for name in ["model.safetensors", "pytorch_model.bin", "tokenizer.json"] {
            if let Ok(meta) = std::fs::metadata(teacher_dir.join(name)) {
                h.update(name.as_bytes());
                h.update(meta.len().to_le_bytes());
            }
        }
        h.update((options.len() as u64).to_le_bytes());
        h.update(options.as_bytes());
        for t in texts {
            h.update((t.len() as u64).to_le_bytes());
            h.update(t.as_bytes());
        }
        Ok(hex(&h.finalize()))
    }

    /// Runs `teacher` (no gradients, no dropout) over `texts` in length-sorted batches.
    pub fn compute(
        teacher: &Encoder,
        texts: &[&str],
        batch_size: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Self> {
        let n = texts.len();
        let lens: Vec<usize> = teacher
            .tokenizer()
            .encodings(texts, &teacher.options().prefix, teacher.options().max_len)?
            .iter()
            .map(|e| e.len())
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
        let mut per_text: Vec<Option<(Tensor, Vec<i64>)>> = (0..n).map(|_| None).collect();
        let mut pooled_rows: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        let _guard = tch::no_grad_guard();
        let mut done = 0;
        for chunk in order.chunks(batch_size.max(1)) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let out = teacher.encode(&batch, false)?;
            let content = super::loss::content_positions(&out.content_mask)?;
            let states = out.states.f_to(Device::Cpu)?;
            let pooled = out.pooled.f_to(Device::Cpu)?;
            for (r, &i) in chunk.iter().enumerate() {
                let pos = &content[r];
                let index =
                    Tensor::f_from_slice(&pos.iter().map(|&p| p as i64).collect::<Vec<_>>())?;
                let rows = states.f_get(r as i64)?.f_index_select(0, &index)?;
                let ids = pos
                    .iter()
                    .map(|&p| i64::from(out.token_ids[r][p].0))
                    .collect();
                per_text[i] = Some((rows, ids));
                pooled_rows[i] = Some(pooled.f_get(r as i64)?);
            }
            done += chunk.len();
            progress(done);
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut rows = Vec::with_capacity(n);
        let mut ids = Vec::new();
        for item in per_text.into_iter().flatten() {
            offsets.push(offsets.last().copied().unwrap_or(0) + item.1.len());
            rows.push(item.0);
            ids.extend(item.1);
        }
        let pooled: Vec<Tensor> = pooled_rows.into_iter().flatten().collect();
        let d = teacher.config().hidden_size;
        let states = if rows.is_empty() {
            Tensor::f_zeros([0, d], (Kind::Float, Device::Cpu))?
        } else {
            Tensor::f_cat(&rows, 0)?.f_contiguous()?
        };
        let pooled = if pooled.is_empty() {
            Tensor::f_zeros([0, teacher.dim()], (Kind::Float, Device::Cpu))?
        } else {
            Tensor::f_stack(&pooled, 0)?.f_contiguous()?
        };
        Ok(Self {
            states,
            offsets,
            ids,
            pooled,
        })
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Content-token ids of text `k`.
    pub fn ids(&self, k: usize) -> &[i64] {
        &self.ids[self.offsets[k]..self.offsets[k + 1]]
    }

    /// Writes the cache atomically (a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        let offsets: Vec<i64> = self.offsets.iter().map(|&o| o as i64).collect();
        let tensors = [
            ("states", self.states.shallow_clone()),
            ("pooled", self.pooled.shallow_clone()),
            ("offsets", Tensor::f_from_slice(&offsets)?),
            ("ids", Tensor::f_from_slice(&self.ids)?),
        ];
        let tmp = tempfile::Builder::new()
            .prefix(".teacher-")
            .suffix(".safetensors")
            .tempfile_in(&dir)
            .map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
        Tensor::write_safetensors(&tensors, tmp.path())?;
        tmp.persist(path).map_err(|e| Error::Write {
            path: path.into(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Reads a cache written by [`TeacherCache::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let tensors = Tensor::read_safetensors(path)?;
        let get = |name: &str| {
            tensors
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, t)| t.shallow_clone())
                .ok_or_else(|| Error::Resume {
                    path: path.into(),
                    reason: format!("teacher cache has no `{name}` tensor"),
                })
        };
        let offsets: Vec<i64> = Vec::<i64>::try_from(get("offsets")?)?;
        let ids: Vec<i64> = Vec::<i64>::try_from(get("ids")?)?;
        let states = get("states")?;
        let offsets: Vec<usize> = offsets.iter().map(|&o| o.max(0) as usize).collect();
        let total = offsets.last().copied().unwrap_or(0);
        if ids.len() != total
            || states.size().first().copied() != Some(total as i64)
            || offsets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(Error::Resume {
                path: path.into(),
                reason: "teacher cache is inconsistent".into(),
            });
        }
        Ok(Self {
            states,
            offsets,
            ids,
            pooled: get("pooled")?,
        })
    }

    /// Loads the cache for `key` under `dir`, or computes and saves it.
    pub fn load_or_compute(
        dir: &Path,
        key: &str,
        compute: impl FnOnce() -> Result<Self>,
    ) -> Result<(Self, bool)> {
        let path = dir.join(format!("{key}.safetensors"));
        if path.is_file() {
            match Self::load(&path) {
                Ok(c) => return Ok((c, true)),
                Err(e) => {
                    tracing::warn!("recomputing damaged teacher cache {}: {e}", path.display())
                }
            }
        }
        let cache = compute()?;
        cache.save(&path)?;
        Ok((cache, false))
    }

    /// The padded batch of texts `idx` on `device`.
    pub fn batch(&self, idx: &[usize], device: Device) -> Result<TeacherBatch> {
        let d = self.states.size().get(1).copied().unwrap_or(0);
        let n_max = idx
            .iter()
            .map(|&k| self.offsets[k + 1] - self.offsets[k])
            .max()
            .unwrap_or(0)
            .max(1);
        let mut rows = Vec::with_capacity(idx.len());
        let mut mask = vec![0f32; idx.len() * n_max];
        let mut ids = Vec::with_capacity(idx.len());
        for (r, &k) in idx.iter().enumerate() {
            let (lo, hi) = (self.offsets[k], self.offsets[k + 1]);
            let n = hi - lo;
            let s = self.states.f_narrow(0, lo as i64, n as i64)?;
            let padded = if n < n_max {
                let pad = Tensor::f_zeros([(n_max - n) as i64, d], (Kind::Float, Device::Cpu))?;
                Tensor::f_cat(&[s, pad], 0)?
            } else {
                s
            };
            rows.push(padded);
            mask[r * n_max..r * n_max + n].fill(1.0);
            ids.push(self.ids[lo..hi].to_vec());
        }
        let index: Vec<i64> = idx.iter().map(|&k| k as i64).collect();
        Ok(TeacherBatch {
            states: Tensor::f_stack(&rows, 0)?.f_to(device)?,
            mask: Tensor::f_from_slice(&mask)?
                .f_view([idx.len() as i64, n_max as i64])?
                .f_to(device)?,
            ids,
            pooled: self
                .pooled
                .f_index_select(0, &Tensor::f_from_slice(&index)?)?
                .f_to(device)?,
        })
    }
}
