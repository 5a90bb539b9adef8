//! Relevance judgements (`qid iter docno rel`).

use std::path::Path;

use crate::error::{Error, Result, Source};
use crate::ids::{DocId, Interner, QueryId};
use crate::io;

/// Relevance judgements: for each query, the judged documents and their integer labels.
///
/// Labels are kept as given; negative labels count as judged non-relevant for precision-style
/// measures and as "unjudged in the pool" for `bpref`/`infAP`/`-J`, exactly as trec_eval does.
#[derive(Debug, Clone, Default)]
pub struct Qrels {
    pub(crate) queries: Interner,
    pub(crate) docs: Interner,
    /// Per query, judgements sorted by `DocId`.
    pub(crate) judgements: Vec<Vec<(DocId, i32)>>,
}

impl Qrels {
    /// A builder for judgements in memory.
    pub fn builder() -> QrelsBuilder {
        QrelsBuilder::default()
    }

    /// Reads a TREC qrels file (`qid iter docno rel`), plain or gzipped.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = io::read_bytes(path)?;
        Self::parse(&bytes, Source::File(path.to_path_buf()))
    }

    /// Parses qrels text; `source` names it in errors.
    pub fn parse(bytes: &[u8], source: Source) -> Result<Self> {
        let mut b = QrelsBuilder {
            source: source.clone(),
            ..QrelsBuilder::default()
        };
        for (line, text) in io::lines(bytes, 1) {
            let [qid, _iter, docno, rel] = io::split_fields::<4>(text, &source, line)?;
            let qid = io::text(qid, "qid", &source, line)?;
            let docno = io::text(docno, "docno", &source, line)?;
            let rel = io::text(rel, "rel", &source, line)?;
            let rel: i32 = rel.parse().map_err(|_| Error::Parse {
                source_name: source.clone(),
                line,
                field: "rel",
                reason: format!("{rel:?} is not an integer relevance label"),
            })?;
            b.push_at(qid, docno, rel, line);
        }
        b.build()
    }

    /// Number of judged queries.
    pub fn num_queries(&self) -> usize {
        self.queries.len()
    }

    /// Query ids in order of first appearance.
    pub fn query_ids(&self) -> impl Iterator<Item = (QueryId, &str)> {
        (0..self.queries.len() as u32).map(|i| (QueryId(i), self.queries.name(i)))
    }

    /// The id of query `qid`.
    pub fn query(&self, qid: &str) -> Option<QueryId> {
        self.queries.get(qid).map(QueryId)
    }

    /// The name of a query.
    pub fn query_name(&self, q: QueryId) -> &str {
        self.queries.name(q.0)
    }

    /// The name of a document.
    pub fn doc_name(&self, d: DocId) -> &str {
        self.docs.name(d.0)
    }

    /// The id of document `docno`.
    pub fn doc(&self, docno: &str) -> Option<DocId> {
        self.docs.get(docno).map(DocId)
    }

    /// The judgements of query `q`, sorted by [`DocId`].
    pub fn judgements(&self, q: QueryId) -> &[(DocId, i32)] {
        &self.judgements[q.0 as usize]
    }

    /// The label of `docno` for `qid`, if judged.
    pub fn label(&self, qid: &str, docno: &str) -> Option<i32> {
        let q = self.query(qid)?;
        let d = self.doc(docno)?;
        let j = self.judgements(q);
        j.binary_search_by_key(&d, |&(d, _)| d).ok().map(|i| j[i].1)
    }
}

/// Collects judgements in memory; [`QrelsBuilder::build`] rejects duplicates.
#[derive(Debug, Default)]
pub struct QrelsBuilder {
    source: Source,
    queries: Interner,
    docs: Interner,
    rows: Vec<Vec<(DocId, i32, u64)>>,
    pushed: u64,
}

impl QrelsBuilder {
    /// Adds the judgement `rel` of `docno` for `qid`.
    pub fn push(&mut self, qid: &str, docno: &str, rel: i32) -> &mut Self {
        self.pushed += 1;
        let line = self.pushed;
        self.push_at(qid, docno, rel, line);
        self
    }

    /// Consuming form of [`QrelsBuilder::push`] for chaining.
    pub fn judgement(mut self, qid: &str, docno: &str, rel: i32) -> Self {
        self.push(qid, docno, rel);
        self
    }

    fn push_at(&mut self, qid: &str, docno: &str, rel: i32, line: u64) {
        let q = self.queries.intern(qid) as usize;
        let d = DocId(self.docs.intern(docno));
        if q == self.rows.len() {
            self.rows.push(Vec::new());
        }
        self.rows[q].push((d, rel, line));
    }

    /// The judgements; an error names the second occurrence of a duplicate (qid, docno).
    pub fn build(self) -> Result<Qrels> {
        let mut judgements = Vec::with_capacity(self.rows.len());
        for (q, mut rows) in self.rows.into_iter().enumerate() {
            rows.sort_unstable_by_key(|&(d, _, line)| (d, line));
            if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(Error::Duplicate {
                    source_name: self.source,
                    line: w[1].2,
                    qid: self.queries.name(q as u32).to_owned(),
                    docno: self.docs.name(w[1].0.0).to_owned(),
                });
            }
            judgements.push(rows.into_iter().map(|(d, r, _)| (d, r)).collect());
        }
        Ok(Qrels {
            queries: self.queries,
            docs: self.docs,
            judgements,
        })
    }
}
