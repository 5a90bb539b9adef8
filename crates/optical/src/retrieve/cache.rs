//! The on-disk cache of document embeddings: `dense-<key>.safetensors` (the `[n, d]` matrix) and
//! `dense-<key>.json` (key, ids, shape), keyed by model and corpus.

use std::io::Write;
use std::path::{Path, PathBuf};

use clir_encoders::Encoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::data::{Document, write_atomically};
use crate::{Error, Result};

/// Bumped whenever the layout or the meaning of the key changes.
const VERSION: u32 = 1;
/// Elements hashed per copy of a weight tensor (bounds the host buffer to 16 MiB).
const HASH_CHUNK: i64 = 1 << 22;

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    version: u32,
    key: String,
    rows: usize,
    dim: i64,
    ids: Vec<String>,
}

/// Hex SHA-256 over everything the embeddings depend on: the weights (names, kinds, shapes,
/// bytes), the model configuration, the encoding options, and each document's id, text and the
/// token ids the encoder's tokenizer gives it (which pins the tokenizer, prefix and truncation).
pub(crate) fn key(encoder: &Encoder, docs: &[Document]) -> Result<String> {
    let mut h = Sha256::new();
    let field = |h: &mut Sha256, bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(&mut h, format!("optical-dense-cache/v{VERSION}").as_bytes());
    let config = serde_json::to_vec(encoder.config()).map_err(|source| Error::Json {
        path: PathBuf::from("config.json"),
        line: 1,
        source,
    })?;
    field(&mut h, &config);
    let o = encoder.options();
    let options = format!(
        "pooling={:?};normalize={};max_len={};prefix={:?};autocast={}",
        o.pooling, o.normalize, o.max_len, o.prefix, o.autocast
    );
    field(&mut h, options.as_bytes());
    let vars = encoder.var_store().variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let t = &vars[name];
        field(&mut h, name.as_bytes());
        field(&mut h, format!("{:?}{:?}", t.kind(), t.size()).as_bytes());
        hash_tensor(&mut h, t)?;
    }
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let encodings = encoder
        .tokenizer()
        .encodings(&texts, &o.prefix, o.max_len)?;
    field(&mut h, &(docs.len() as u64).to_le_bytes());
    for (d, e) in docs.iter().zip(&encodings) {
        field(&mut h, d.id.as_bytes());
        field(&mut h, d.text.as_bytes());
        let ids: Vec<u8> = e.get_ids().iter().flat_map(|i| i.to_le_bytes()).collect();
        field(&mut h, &ids);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Feeds the raw bytes of `t` (on the CPU, contiguous) to `h`, a bounded chunk at a time.
fn hash_tensor(h: &mut Sha256, t: &Tensor) -> Result<()> {
    let flat = t
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_contiguous()?
        .f_reshape([-1])?;
    let numel = flat.size().first().copied().unwrap_or(0);
    let elt = flat.f_kind()?.elt_size_in_bytes();
    let mut buf = Vec::new();
    let mut start = 0;
    while start < numel {
        let len = HASH_CHUNK.min(numel - start);
        let chunk = flat.f_narrow(0, start, len)?.f_contiguous()?;
        buf.resize(len as usize * elt, 0);
        chunk.f_copy_data_u8(&mut buf, len as usize)?;
        h.update(&buf);
        start += len;
    }
    Ok(())
}

fn paths(dir: &Path, key: &str) -> (PathBuf, PathBuf) {
    let stem = format!("dense-{}", &key[..key.len().min(24)]);
    (
        dir.join(format!("{stem}.safetensors")),
        dir.join(format!("{stem}.json")),
    )
}

/// The cached embeddings of `docs` under `key`, `None` when there is no cache, or an error when
/// one exists but does not match (damaged, or another corpus under a colliding name).
pub(crate) fn load(dir: &Path, key: &str, docs: &[Document]) -> Result<Option<Tensor>> {
    let (tensor_path, meta_path) = paths(dir, key);
    if !meta_path.exists() {
        return Ok(None);
    }
    let bad = |path: &Path, reason: String| Error::Resume {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(&meta_path).map_err(|source| Error::Io {
        path: meta_path.clone(),
        source,
    })?;
    let meta: Meta = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: meta_path.clone(),
        line: source.line(),
        source,
    })?;
    if meta.version != VERSION || meta.key != key {
        return Err(bad(
            &meta_path,
            "written for another model, corpus or version".into(),
        ));
    }
    if meta.rows != docs.len() || meta.ids.iter().zip(docs).any(|(a, d)| *a != d.id) {
        return Err(bad(&meta_path, "document ids differ".into()));
    }
    let tensors = Tensor::read_safetensors(&tensor_path)
        .map_err(|e| bad(&tensor_path, format!("unreadable embeddings ({e})")))?;
    let t = tensors
        .into_iter()
        .find_map(|(name, t)| (name == "embeddings").then_some(t))
        .ok_or_else(|| bad(&tensor_path, "no `embeddings` tensor".into()))?;
    if t.size() != [meta.rows as i64, meta.dim] || t.kind() != Kind::Float {
        return Err(bad(
            &tensor_path,
            format!(
                "embeddings of shape {:?} / {:?}, expected [{}, {}] Float",
                t.size(),
                t.kind(),
                meta.rows,
                meta.dim
            ),
        ));
    }
    Ok(Some(t))
}

/// Writes `embeddings` of `docs` under `key`: the tensor file first, the JSON last, each through a
/// temporary file and a rename, so a present JSON means a complete cache.
pub(crate) fn save(dir: &Path, key: &str, docs: &[Document], embeddings: &Tensor) -> Result<()> {
    let (tensor_path, meta_path) = paths(dir, key);
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(werr(dir))?;
    let tmp = tempfile::Builder::new()
        .prefix(".dense-")
        .suffix(".safetensors.tmp")
        .tempfile_in(dir)
        .map_err(werr(dir))?;
    Tensor::write_safetensors(&[("embeddings", embeddings)], tmp.path())?;
    tmp.persist(&tensor_path).map_err(|e| Error::Write {
        path: tensor_path.clone(),
        source: e.error,
    })?;
    let size = embeddings.size();
    let meta = Meta {
        version: VERSION,
        key: key.to_owned(),
        rows: docs.len(),
        dim: size.get(1).copied().unwrap_or(0),
        ids: docs.iter().map(|d| d.id.clone()).collect(),
    };
    let json = serde_json::to_vec(&meta).map_err(|source| Error::Json {
        path: meta_path.clone(),
        line: 1,
        source,
    })?;
    write_atomically(&meta_path, |w| w.write_all(&json))
}
