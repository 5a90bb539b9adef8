//! Relevance judgements (`qid iter docno rel`).

use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result, Source};
use crate::ids::{DocId, DocNames, Interner, QueryId};
use crate::io;
use crate::table::{LineFormat, Table, ids};

/// Relevance judgements: for each query, the judged documents and their integer labels.
///
/// Labels are kept as given; negative labels count as judged non-relevant for precision-style
/// measures and as "unjudged in the pool" for `bpref`/`infAP`/`-J`, exactly as trec_eval does.
#[derive(Debug, Clone, Default)]
pub struct Qrels {
    pub(crate) queries: Interner,
    pub(crate) docs: DocNames,
    /// Per query, judgements sorted by docno (byte order).
    pub(crate) judgements: Vec<Vec<(DocId, i32)>>,
}

/// `qid iter docno rel`.
pub(crate) struct QrelsLine;

impl LineFormat<4> for QrelsLine {
    type Value = i32;
    const FIELDS: [&'static str; 4] = ["qid", "iter", "docno", "rel"];
    const QID: usize = 0;
    const DOCNO: usize = 2;

    fn value(fields: &[&str; 4], source: &Source, line: u64) -> Result<i32> {
        let rel = fields[3];
        rel.parse().map_err(|_| Error::Parse {
            source_name: source.clone(),
            line,
            field: "rel",
            reason: format!("{rel:?} is not an integer relevance label"),
        })
    }
}

impl Qrels {
    /// A builder for judgements in memory.
    pub fn builder() -> QrelsBuilder {
        QrelsBuilder::default()
    }

    /// Reads a TREC qrels file (`qid iter docno rel`), plain or gzipped; large files are read
    /// and parsed in parallel chunks, never held whole in memory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        QrelsBuilder {
            table: Table::load::<QrelsLine, 4>(path)?,
        }
        .build_with(|d| io::record_line_of(path, d.0 as usize))
    }

    /// Parses qrels text; `source` names it in errors.
    pub fn parse(bytes: &[u8], source: Source) -> Result<Self> {
        QrelsBuilder {
            table: Table::parse::<QrelsLine, 4>(bytes, source)?,
        }
        .build_with(|d| io::record_line(bytes, d.0 as usize))
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
        self.docs.get(d)
    }

    /// The judgements of query `q`, sorted by docno (byte order).
    pub fn judgements(&self, q: QueryId) -> &[(DocId, i32)] {
        &self.judgements[q.0 as usize]
    }

    /// The label of `docno` for `qid`, if judged.
    pub fn label(&self, qid: &str, docno: &str) -> Option<i32> {
        let j = self.judgements(self.query(qid)?);
        j.binary_search_by(|&(d, _)| self.doc_name(d).cmp(docno))
            .ok()
            .map(|i| j[i].1)
    }
}

/// Collects judgements in memory; [`QrelsBuilder::build`] rejects duplicates.
#[derive(Debug, Default)]
pub struct QrelsBuilder {
    table: Table<i32>,
}

impl QrelsBuilder {
    /// Adds the judgement `rel` of `docno` for `qid`.
    pub fn push(&mut self, qid: &str, docno: &str, rel: i32) -> &mut Self {
        self.table.push(qid, docno, rel);
        self
    }

    /// Consuming form of [`QrelsBuilder::push`] for chaining.
    pub fn judgement(mut self, qid: &str, docno: &str, rel: i32) -> Self {
        self.push(qid, docno, rel);
        self
    }

    /// The judgements; an error names the earliest repeated (qid, docno) (its line is the
    /// number of its push).
    pub fn build(self) -> Result<Qrels> {
        self.build_with(|d| u64::from(d.0) + 1)
    }

    /// [`QrelsBuilder::build`] with `line` giving the line of a row in errors.
    fn build_with(self, line: impl Fn(DocId) -> u64) -> Result<Qrels> {
        let table = self.table;
        if let Some((q, d)) = table.first_duplicate() {
            return Err(table.duplicate_error(q, d, line(d)));
        }
        let judgements = (table.spans.par_iter())
            .map(|spans| {
                let mut j: Vec<(DocId, i32)> = ids(spans)
                    .map(|d| (d, table.values[d.0 as usize]))
                    .collect();
                j.sort_unstable_by(|a, b| table.docs.bytes(a.0).cmp(table.docs.bytes(b.0)));
                j
            })
            .collect();
        Ok(Qrels {
            queries: table.queries,
            docs: table.docs,
            judgements,
        })
    }
}
