//! What qrels and runs have in common: per-query rows of (document, value) collected from a
//! builder or parsed from text in parallel chunks, and the duplicate check.

use std::ops::Range;

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::error::{Error, Result, Source};
use crate::ids::{DocId, DocNames, Interner, QueryId, hash};
use crate::io;

/// Rows grouped by query, before ordering and checks. A row is a [`DocId`] (the index of its
/// docno and value); the rows of a query are a few ranges of ids (one per block of consecutive
/// lines), so grouping a file by query copies no rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table<T> {
    pub(crate) source: Source,
    pub(crate) queries: Interner,
    pub(crate) docs: DocNames,
    /// Per [`DocId`], the score or label.
    pub(crate) values: Vec<T>,
    /// Per query (by [`crate::QueryId`]), its rows in input order.
    pub(crate) spans: Vec<Vec<Range<u32>>>,
}

/// What one chunk of a file parses to: docnos, values, and where each run of equal qids starts.
struct Chunk<'a, T> {
    docs: DocNames,
    values: Vec<T>,
    /// `(qid, index of its first value)` for each run of consecutive lines with one qid.
    groups: Vec<(&'a str, u32)>,
}

/// How to read one line of a TREC file with `N` columns.
pub(crate) trait LineFormat<const N: usize>: Sync {
    /// The value kept for each line (score or label).
    type Value: Copy + Send + Sync;
    /// Names of the columns, for errors.
    const FIELDS: [&'static str; N];
    /// Column of the qid.
    const QID: usize;
    /// Column of the docno.
    const DOCNO: usize;
    /// Parses the value of a line from its fields.
    fn value(fields: &[&str; N], source: &Source, line: u64) -> Result<Self::Value>;
}

/// The ids of rows `spans`.
pub(crate) fn ids(spans: &[Range<u32>]) -> impl Iterator<Item = DocId> + '_ {
    spans.iter().flat_map(|r| r.clone().map(DocId))
}

impl<T: Copy + Send + Sync> Table<T> {
    /// An empty table whose errors name `source`.
    pub(crate) fn new(source: Source) -> Self {
        Self {
            source,
            queries: Interner::new(),
            docs: DocNames::default(),
            values: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Appends rows `ids` to query `qid`.
    fn extend(&mut self, qid: &str, ids: Range<u32>) {
        let q = self.queries.intern(qid) as usize;
        if q == self.spans.len() {
            self.spans.push(Vec::new());
        }
        match self.spans[q].last_mut() {
            Some(last) if last.end == ids.start => last.end = ids.end,
            _ => self.spans[q].push(ids),
        }
    }

    /// Adds one row.
    pub(crate) fn push(&mut self, qid: &str, docno: &str, value: T) {
        let d = self.docs.push(docno);
        self.values.push(value);
        self.extend(qid, d.0..d.0 + 1);
    }

    /// Parses TREC text in parallel chunks; the error reported is the first of the text.
    pub(crate) fn parse<F, const N: usize>(bytes: &[u8], source: Source) -> Result<Self>
    where
        F: LineFormat<N, Value = T>,
    {
        let parts = rayon::current_num_threads() * 4;
        let chunks: Vec<Result<Chunk<'_, T>>> = io::chunks(bytes, parts)
            .into_par_iter()
            .map(|(first, chunk)| parse_chunk::<F, N>(chunk, first, &source))
            .collect();
        let chunks: Vec<Chunk<'_, T>> = chunks.into_iter().collect::<Result<_>>()?;
        let mut table = Table::new(source);
        let (names, bytes) = (chunks.iter()).fold((0, 0), |(n, b), c| {
            (n + c.docs.len(), b + c.docs.text_len())
        });
        table.docs = DocNames::with_capacity(names, bytes);
        table.values.reserve_exact(names);
        for chunk in chunks {
            let base = table.docs.append(&chunk.docs);
            table.values.extend_from_slice(&chunk.values);
            let len = chunk.values.len() as u32;
            for (g, &(qid, start)) in chunk.groups.iter().enumerate() {
                let end = chunk.groups.get(g + 1).map_or(len, |x| x.1);
                table.extend(qid, base + start..base + end);
            }
        }
        Ok(table)
    }

    /// The earliest row that repeats a (qid, docno) pair of an earlier one, with its query.
    pub(crate) fn first_duplicate(&self) -> Option<(QueryId, DocId)> {
        let docs = &self.docs;
        self.spans
            .par_iter()
            .enumerate()
            .map_init(HashTable::<DocId>::new, |seen, (q, spans)| {
                seen.clear();
                let n = spans.iter().map(|r| r.len()).sum();
                seen.reserve(n, |&d| hash(docs.bytes(d)));
                // Rows are in input order: the first repeat is the query's earliest.
                ids(spans).find_map(|d| {
                    let name = docs.bytes(d);
                    let h = hash(name);
                    if seen.find(h, |&e| docs.bytes(e) == name).is_some() {
                        return Some((QueryId(q as u32), d));
                    }
                    seen.insert_unique(h, d, |&e| hash(docs.bytes(e)));
                    None
                })
            })
            .flatten()
            .min_by_key(|&(_, d)| d)
    }

    /// The error for the duplicate `d` of query `q`, found on line `line`.
    pub(crate) fn duplicate_error(&self, q: QueryId, d: DocId, line: u64) -> Error {
        Error::Duplicate {
            source_name: self.source.clone(),
            line,
            qid: self.queries.name(q.0).to_owned(),
            docno: self.docs.get(d).to_owned(),
        }
    }
}

fn parse_chunk<'a, F: LineFormat<N>, const N: usize>(
    chunk: &'a [u8],
    first_line: u64,
    source: &Source,
) -> Result<Chunk<'a, F::Value>> {
    let (text, utf8_error) = io::utf8_prefix(chunk, first_line, &F::FIELDS, source);
    // Lines of ~30 bytes; a short capacity only means one reallocation.
    let lines = text.len() / 24 + 1;
    let mut out = Chunk {
        docs: DocNames::with_capacity(lines, text.len() / 4),
        values: Vec::with_capacity(lines),
        groups: Vec::new(),
    };
    let mut last_qid: Option<&str> = None;
    let mut line_no = first_line;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        // `start..end` lies between newlines (ASCII) or the ends of `text`.
        let line = &text[start..end];
        start = end + 1;
        line_no += 1;
        let line_no = line_no - 1;
        let Some(fields) = io::split_fields::<N>(line, source, line_no)? else {
            continue;
        };
        let value = F::value(&fields, source, line_no)?;
        let qid = fields[F::QID];
        if last_qid != Some(qid) {
            out.groups.push((qid, out.values.len() as u32));
            last_qid = Some(qid);
        }
        out.docs.push(fields[F::DOCNO]);
        out.values.push(value);
    }
    match utf8_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
