//! Reading checkpoint tensors: `model.safetensors` (fp32 / fp16 / bf16, sharded with an index)
//! and `pytorch_model.bin`, with original-era key names normalised.

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
};

use tch::{Kind, Tensor};

use crate::{Error, Result};

/// Tensors of a checkpoint by normalised name, with the file each came from.
pub(crate) struct Checkpoint {
    pub(crate) tensors: HashMap<String, (Tensor, PathBuf)>,
    /// The main file, named in errors about tensors that are absent.
    pub(crate) path: PathBuf,
}

/// Maps an original-era or prefixed key to transformers' `BertModel` / `XLMRobertaModel` name;
/// `None` for tensors the encoder does not use (pooler, heads, buffers).
pub fn normalize_key(key: &str) -> Option<String> {
    let mut k = key;
    for prefix in ["bert.", "roberta.", "model.", "0.auto_model."] {
        if let Some(rest) = k.strip_prefix(prefix) {
            k = rest;
        }
    }
    if k.starts_with("pooler.")
        || k.starts_with("cls.")
        || k.starts_with("lm_head.")
        || k.ends_with("position_ids")
    {
        return None;
    }
    let k = k
        .replace("LayerNorm.gamma", "LayerNorm.weight")
        .replace("LayerNorm.beta", "LayerNorm.bias");
    Some(k)
}

impl Checkpoint {
    /// Finds and reads the weights of a model folder.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let bin = dir.join("pytorch_model.bin");
        let mut tensors = HashMap::new();
        let path = if single.is_file() {
            read_safetensors(&single, &mut tensors)?;
            single
        } else if index.is_file() {
            let text = std::fs::read_to_string(&index).map_err(Error::io(&index))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|source| Error::Json {
                    path: index.clone(),
                    source,
                })?;
            let shards: BTreeSet<String> = json["weight_map"]
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if shards.is_empty() {
                return Err(Error::NoWeights { dir: dir.into() });
            }
            for shard in shards {
                read_safetensors(&dir.join(shard), &mut tensors)?;
            }
            index
        } else if bin.is_file() {
            // libtorch's pickle loader reads the zip format `torch.save` writes since 1.6.
            for (name, t) in Tensor::loadz_multi(&bin)? {
                if let Some(k) = normalize_key(&name) {
                    tensors.insert(k, (t.f_to_kind(Kind::Float)?, bin.clone()));
                }
            }
            bin
        } else {
            return Err(Error::NoWeights { dir: dir.into() });
        };
        Ok(Self { tensors, path })
    }

    /// Takes the tensor `name`, checking its shape.
    pub(crate) fn take(&mut self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let (t, path) = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::MissingTensor {
                name: name.into(),
                path: self.path.clone(),
            })?;
        if t.size() != shape {
            return Err(Error::TensorShape {
                name: name.into(),
                path,
                expected: shape.to_vec(),
                found: t.size(),
            });
        }
        Ok(t)
    }
}

fn read_safetensors(path: &Path, out: &mut HashMap<String, (Tensor, PathBuf)>) -> Result<()> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let st =
        safetensors::SafeTensors::deserialize(&bytes).map_err(|source| Error::Safetensors {
            path: path.into(),
            source,
        })?;
    for (name, view) in st.tensors() {
        let Some(key) = normalize_key(&name) else {
            continue;
        };
        let kind = match view.dtype() {
            safetensors::Dtype::F32 => Kind::Float,
            safetensors::Dtype::F16 => Kind::Half,
            safetensors::Dtype::BF16 => Kind::BFloat16,
            safetensors::Dtype::F64 => Kind::Double,
            other => {
                return Err(Error::TensorDtype {
                    name,
                    path: path.into(),
                    dtype: format!("{other:?}"),
                });
            }
        };
        let shape: Vec<i64> = view.shape().iter().map(|&s| s as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind)?.f_to_kind(Kind::Float)?;
        out.insert(key, (t, path.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalize_key;

    #[test]
    fn original_era_keys_are_normalised() {
        assert_eq!(
            normalize_key("bert.embeddings.LayerNorm.gamma").as_deref(),
            Some("embeddings.LayerNorm.weight")
        );
        assert_eq!(
            normalize_key("roberta.encoder.layer.0.output.LayerNorm.beta").as_deref(),
            Some("encoder.layer.0.output.LayerNorm.bias")
        );
        assert_eq!(normalize_key("bert.pooler.dense.weight"), None);
        assert_eq!(normalize_key("embeddings.position_ids"), None);
    }
}
