//! What qrels and runs have in common: per-query rows of (document, value) collected from a
//! builder or parsed from text in parallel chunks, and the duplicate check.

use std::ops::Range;
use std::path::Path;

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::error::{Error, Result, Source};
use crate::ids::{DocId, DocNames, Interner, QueryId, hash};
use crate::io;

/// Bytes of a file that one thread reads and parses at a time.
const CHUNK_BYTES: u64 = 4 << 20;

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
/// It owns its text (nothing borrows the chunk's bytes), so a thread can read the next chunk
/// of a file into the same buffer.
struct Chunk<T> {
    docs: DocNames,
    values: Vec<T>,
    /// The qid of each run of consecutive lines with one qid ...
    qids: DocNames,
    /// ... and the index of its first value.
    group_starts: Vec<u32>,
    /// Line breaks in the chunk (its lines, when it ends with one).
    newlines: u64,
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
        let chunks = (io::chunks(bytes, parts).into_par_iter())
            .map(|chunk| parse_chunk::<F, N>(chunk, &source))
            .collect();
        Self::join(chunks, source)
    }

    /// Reads and parses a TREC file, plain or gzipped. A plain file is read in chunks of a few
    /// megabytes that the threads parse as they read them, each reusing one buffer: the file
    /// is never held whole in memory. The error reported is the first of the file.
    pub(crate) fn load<F, const N: usize>(path: &Path) -> Result<Self>
    where
        F: LineFormat<N, Value = T>,
    {
        Self::load_in_chunks::<F, N>(path, CHUNK_BYTES)
    }

    /// [`Table::load`] with chunks of at least `chunk_bytes` bytes.
    fn load_in_chunks<F, const N: usize>(path: &Path, chunk_bytes: u64) -> Result<Self>
    where
        F: LineFormat<N, Value = T>,
    {
        let source = Source::File(path.to_path_buf());
        let io_error = |e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        };
        match io::open(path).map_err(io_error)? {
            io::Text::Memory(bytes) => Self::parse::<F, N>(&bytes, source),
            io::Text::File(file) => {
                let ranges = io::file_chunks(&file, chunk_bytes).map_err(io_error)?;
                let chunks = (ranges.into_par_iter())
                    .map_init(Vec::new, |buffer, range| {
                        io::read_range(&file, range, buffer).map_err(io_error)?;
                        parse_chunk::<F, N>(buffer, &source)
                    })
                    .collect();
                Self::join(chunks, source)
            }
        }
    }

    /// The table of `chunks`, the consecutive parts of one text, or the first error of the
    /// text with its line counted from the start of the text.
    fn join(chunks: Vec<Result<Chunk<T>>>, source: Source) -> Result<Self> {
        let mut table = Table::new(source);
        let names = (chunks.iter().flatten()).map(|c| c.values.len()).sum();
        table.values.reserve_exact(names);
        let mut lines_before = 0;
        for chunk in chunks {
            let chunk = chunk.map_err(|e| e.after_lines(lines_before))?;
            lines_before += chunk.newlines;
            let base = table.docs.append(chunk.docs);
            table.values.extend_from_slice(&chunk.values);
            let len = chunk.values.len() as u32;
            for (g, &start) in chunk.group_starts.iter().enumerate() {
                let end = chunk.group_starts.get(g + 1).map_or(len, |&x| x);
                let qid = chunk.qids.get(DocId(g as u32));
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

/// Parses one chunk of whole lines; errors count lines from 1 at the chunk's start.
fn parse_chunk<F: LineFormat<N>, const N: usize>(
    chunk: &[u8],
    source: &Source,
) -> Result<Chunk<F::Value>> {
    let (text, utf8_error) = io::utf8_prefix(chunk, 1, &F::FIELDS, source);
    // Lines of ~30 bytes; a short capacity only means one reallocation.
    let lines = text.len() / 24 + 1;
    let mut out = Chunk {
        docs: DocNames::with_capacity(lines, text.len() / 4),
        values: Vec::with_capacity(lines),
        qids: DocNames::default(),
        group_starts: Vec::new(),
        newlines: 0,
    };
    let mut last_qid: Option<&str> = None;
    let mut line_no = 0;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        // `start..end` lies between newlines (ASCII) or the ends of `text`.
        let line = &text[start..end];
        start = end + 1;
        line_no += 1;
        let Some(fields) = io::split_fields::<N>(line, source, line_no)? else {
            continue;
        };
        let value = F::value(&fields, source, line_no)?;
        let qid = fields[F::QID];
        if last_qid != Some(qid) {
            out.qids.push(qid);
            out.group_starts.push(out.values.len() as u32);
            last_qid = Some(qid);
        }
        out.docs.push(fields[F::DOCNO]);
        out.values.push(value);
    }
    out.newlines = line_no - 1;
    match utf8_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qrels::QrelsLine as Line;

    /// Every row as (qid, docno, value), grouped by query in order of first appearance.
    fn rows(t: &Table<i32>) -> Vec<(String, String, i32)> {
        (t.spans.iter().enumerate())
            .flat_map(|(q, spans)| {
                ids(spans).map(move |d| {
                    let qid = t.queries.name(q as u32).to_owned();
                    (qid, t.docs.get(d).to_owned(), t.values[d.0 as usize])
                })
            })
            .collect()
    }

    fn qrels_text(bad_line: Option<usize>) -> String {
        let mut text = String::new();
        for i in 0..3_000usize {
            if i % 100 == 7 {
                text.push_str("  \n");
            } else if bad_line == Some(i + 1) {
                text.push_str("q1 0 dx one\n");
            } else {
                text.push_str(&format!(
                    "q{} 0 d{} {}\n",
                    (i / 5) % 17,
                    i * 31 % 3001,
                    i % 4
                ));
            }
        }
        text.push_str("q0 0 last 1"); // no final line break
        text
    }

    #[test]
    fn chunked_file_reading_equals_parsing_the_text() {
        let dir = std::env::temp_dir().join(format!("clirm-chunks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.qrels");
        let text = qrels_text(None);
        std::fs::write(&path, &text).unwrap();
        let parsed = Table::parse::<Line, 4>(text.as_bytes(), Source::Memory).unwrap();
        assert_eq!(rows(&parsed).len(), 3_000 - 30 + 1);
        // From one byte (a chunk per line) to more than the whole file.
        for chunk_bytes in [1, 2, 13, 64, 1000, 1 << 20] {
            let loaded = Table::load_in_chunks::<Line, 4>(&path, chunk_bytes).unwrap();
            assert_eq!(
                rows(&loaded),
                rows(&parsed),
                "chunks of {chunk_bytes} bytes"
            );
        }
        // An error deep in the file names its line, counted across every chunk before it.
        std::fs::write(&path, qrels_text(Some(2_345))).unwrap();
        for chunk_bytes in [1, 13, 1000, 1 << 20] {
            let e = Table::<i32>::load_in_chunks::<Line, 4>(&path, chunk_bytes).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Parse {
                        line: 2_345,
                        field: "rel",
                        ..
                    }
                ),
                "chunks of {chunk_bytes} bytes: {e:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
