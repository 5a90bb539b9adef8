//! Dense retrieval: documents encoded once by a passage encoder, exact top-k by inner product.

use std::path::Path;

use clir_encoders::Encoder;
use clir_metrics::Run;
use indicatif::{ProgressBar, ProgressStyle};
use tch::{Device, Kind, Tensor};

use super::cache;
use super::top_k;
use crate::data::{Document, Topic};
use crate::{Error, Result};

/// Texts per forward pass when encoding documents and queries.
const BATCH_SIZE: usize = 32;
/// Queries scored per matrix product (bounds the `[queries, documents]` score block).
const QUERY_CHUNK: usize = 256;

/// Document ids and their `[n, d]` embeddings (`Float`, CPU, L2-normalised when the encoder
/// normalises), searched exhaustively.
#[derive(Debug)]
pub struct DenseIndex {
    ids: Vec<String>,
    embeddings: Tensor,
}

impl DenseIndex {
    /// Encodes `docs` with `encoder` (configured for the passage side, see
    /// [`crate::model::load_encoder`]), or reads them from `cache_dir` when a cache with the same
    /// key exists there.
    ///
    /// The key is a SHA-256 over the encoder's weights, configuration and tokenizer, its encoding
    /// options (prefix, `max_len`, pooling, normalisation) and every document id and text, so a
    /// changed model or corpus never reuses stale vectors. The cache is a safetensors file
    /// (the embeddings) and a JSON file (key, ids, shape), each written through a temporary file
    /// and a rename; a damaged or mismatching cache is rebuilt with a warning.
    ///
    /// `progress` shows an indicatif bar (documents encoded, documents/s, ETA) on stderr.
    pub fn build(
        encoder: &Encoder,
        docs: &[Document],
        cache_dir: Option<&Path>,
        progress: bool,
    ) -> Result<Self> {
        let key = match cache_dir {
            Some(_) => Some(cache::key(encoder, docs)?),
            None => None,
        };
        if let (Some(dir), Some(key)) = (cache_dir, &key) {
            match cache::load(dir, key, docs) {
                Ok(Some(embeddings)) => {
                    tracing::info!(dir = %dir.display(), docs = docs.len(), "document embeddings from cache");
                    return Ok(Self {
                        ids: docs.iter().map(|d| d.id.clone()).collect(),
                        embeddings,
                    });
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "document cache unusable, re-encoding"),
            }
        }
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let bar = progress_bar(progress, texts.len(), "documents");
        let start = std::time::Instant::now();
        let embeddings = encoder.embed(&texts, BATCH_SIZE, |done| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        let secs = start.elapsed().as_secs_f64();
        tracing::info!(
            docs = docs.len(),
            seconds = format!("{secs:.1}"),
            docs_per_s = format!("{:.1}", docs.len() as f64 / secs.max(1e-9)),
            "documents encoded"
        );
        let embeddings = embeddings.f_to_kind(Kind::Float)?.f_contiguous()?;
        if let (Some(dir), Some(key)) = (cache_dir, &key) {
            cache::save(dir, key, docs, &embeddings)?;
        }
        Ok(Self {
            ids: docs.iter().map(|d| d.id.clone()).collect(),
            embeddings,
        })
    }

    /// An index over given embeddings: `ids.len()` rows of a 2-D tensor (moved to the CPU as
    /// `Float`).
    pub fn from_embeddings(ids: Vec<String>, embeddings: &Tensor) -> Result<Self> {
        let size = embeddings.size();
        if size.len() != 2 || size[0] != ids.len() as i64 {
            return Err(Error::Config {
                field: "embeddings".into(),
                reason: format!(
                    "shape {size:?} does not hold one row for each of {} ids",
                    ids.len()
                ),
            });
        }
        let embeddings = embeddings
            .f_detach()?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?;
        Ok(Self { ids, embeddings })
    }

    /// Encodes `queries` with `query_encoder` (configured for the query side) and returns the
    /// top `k` documents of each (see [`DenseIndex::search_vectors`]).
    pub fn search(
        &self,
        query_encoder: &Encoder,
        queries: &[Topic],
        k: usize,
        tag: &str,
    ) -> Result<Run> {
        let q = Self::embed_queries(query_encoder, queries)?;
        let ids: Vec<String> = queries.iter().map(|q| q.id.clone()).collect();
        self.search_vectors(&ids, &q, k, tag)
    }

    /// The `[queries, d]` embeddings of `queries` by `query_encoder`, as [`DenseIndex::search`]
    /// scores them.
    pub fn embed_queries(query_encoder: &Encoder, queries: &[Topic]) -> Result<Tensor> {
        let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
        Ok(query_encoder.embed(&texts, BATCH_SIZE, |_| {})?)
    }

    /// The exact top `k` documents by inner product for each row of `q` (`[queries, d]`, any
    /// device and float kind), as a run tagged `tag`. Scores come from one matrix product per
    /// chunk of queries; documents tied at the cut-off are taken in index order, so the result
    /// is deterministic.
    pub fn search_vectors(
        &self,
        query_ids: &[String],
        q: &Tensor,
        k: usize,
        tag: &str,
    ) -> Result<Run> {
        let size = q.size();
        if size.len() != 2 || size[0] != query_ids.len() as i64 || size[1] != self.dim() {
            return Err(Error::Config {
                field: "queries".into(),
                reason: format!(
                    "query matrix of shape {size:?} for {} ids against documents of dimension {}",
                    query_ids.len(),
                    self.dim()
                ),
            });
        }
        let q = q
            .f_detach()?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Float)?;
        let docs_t = self.embeddings.f_tr()?;
        let n = self.len();
        let mut builder = Run::builder().tag(tag);
        for (c, ids) in query_ids.chunks(QUERY_CHUNK).enumerate() {
            let start = (c * QUERY_CHUNK) as i64;
            let block = q
                .f_narrow(0, start, ids.len() as i64)?
                .f_matmul(&docs_t)?
                .f_contiguous()?;
            let mut scores = vec![0f32; ids.len() * n];
            block.f_copy_data(&mut scores, ids.len() * n)?;
            for (i, qid) in ids.iter().enumerate() {
                for (d, s) in top_k(&scores[i * n..(i + 1) * n], k) {
                    builder.push(qid, &self.ids[d], f64::from(s));
                }
            }
        }
        Ok(builder.build()?)
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Embedding dimension.
    pub fn dim(&self) -> i64 {
        self.embeddings.size().get(1).copied().unwrap_or(0)
    }

    /// The `[n, d]` document embeddings (CPU, `Float`).
    pub fn embeddings(&self) -> &Tensor {
        &self.embeddings
    }

    /// The document ids, aligned with the rows of [`DenseIndex::embeddings`].
    pub fn doc_ids(&self) -> &[String] {
        &self.ids
    }
}

/// A bar counting `what` on stderr, or a hidden one.
pub(crate) fn progress_bar(on: bool, len: usize, what: &str) -> ProgressBar {
    if !on {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let template = format!(
        "{{bar:40}} {{human_pos}}/{{human_len}} {what} [{{elapsed_precise}}, {{per_sec}}, ETA {{eta}}]"
    );
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
