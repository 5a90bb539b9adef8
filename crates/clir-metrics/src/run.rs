//! Ranked results (`qid Q0 docno rank score tag`).

use std::cmp::Ordering;
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result, Source};
use crate::ids::{DocId, Interner, QueryId};
use crate::io;

/// A retrieval run: for each query, documents in trec_eval order (score descending, then
/// docno descending in byte order; the rank column of a file is ignored).
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub(crate) tag: String,
    pub(crate) queries: Interner,
    pub(crate) docs: Interner,
    /// Per query, `(doc, score)` in trec_eval order.
    pub(crate) ranked: Vec<Vec<(DocId, f64)>>,
}

/// One parsed line before interning.
struct RawLine<'a> {
    line: u64,
    qid: &'a str,
    docno: &'a str,
    score: f64,
}

fn parse_line<'a>(text: &'a [u8], line: u64, source: &Source) -> Result<RawLine<'a>> {
    let [qid, _q0, docno, _rank, score, tag] = io::split_fields::<6>(text, source, line)?;
    let qid = io::text(qid, "qid", source, line)?;
    let docno = io::text(docno, "docno", source, line)?;
    io::text(tag, "tag", source, line)?;
    let score_text = io::text(score, "score", source, line)?;
    let score: f64 = score_text.parse().map_err(|_| Error::Parse {
        source_name: source.clone(),
        line,
        field: "score",
        reason: format!("{score_text:?} is not a number"),
    })?;
    if score.is_nan() {
        return Err(Error::Parse {
            source_name: source.clone(),
            line,
            field: "score",
            reason: "NaN score".into(),
        });
    }
    Ok(RawLine {
        line,
        qid,
        docno,
        score,
    })
}

impl Run {
    /// A builder for a run in memory.
    pub fn builder() -> RunBuilder {
        RunBuilder::default()
    }

    /// Reads a TREC run file, plain or gzipped; large files are parsed in parallel.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = io::read_bytes(path)?;
        Self::parse(&bytes, Source::File(path.to_path_buf()))
    }

    /// Parses run text; `source` names it in errors.
    pub fn parse(bytes: &[u8], source: Source) -> Result<Self> {
        let parts = rayon::current_num_threads() * 8;
        let parsed: Vec<Vec<RawLine<'_>>> = io::chunks(bytes, parts)
            .into_par_iter()
            .map(|(first, chunk)| {
                io::lines(chunk, first)
                    .map(|(line, text)| parse_line(text, line, &source))
                    .collect()
            })
            .collect::<Result<_>>()?;
        // The run tag is the last column of the first line.
        let tag = io::lines(bytes, 1).next().and_then(|(_, l)| {
            l.split(u8::is_ascii_whitespace)
                .filter(|f| !f.is_empty())
                .nth(5)
        });
        let tag = tag.map(|t| String::from_utf8_lossy(t).into_owned());
        let mut b = RunBuilder {
            source,
            tag,
            ..RunBuilder::default()
        };
        b.docs.reserve(parsed.iter().map(Vec::len).sum());
        let mut last: Option<(&str, usize)> = None;
        for raw in parsed.iter().flatten() {
            let q = match last {
                Some((name, q)) if name == raw.qid => q,
                _ => {
                    let q = b.query_slot(raw.qid);
                    last = Some((raw.qid, q));
                    q
                }
            };
            let d = DocId(b.docs.intern(raw.docno));
            b.rows[q].push(Entry {
                doc: d,
                line: raw.line as u32,
                score: raw.score,
            });
        }
        b.build()
    }

    /// The run tag (the last column of the first line of a file).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Number of queries with at least one document.
    pub fn num_queries(&self) -> usize {
        self.queries.len()
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

    /// Query ids in order of first appearance.
    pub fn query_ids(&self) -> impl Iterator<Item = (QueryId, &str)> {
        (0..self.queries.len() as u32).map(|i| (QueryId(i), self.queries.name(i)))
    }

    /// The ranking of query `q` in trec_eval order.
    pub fn ranking(&self, q: QueryId) -> &[(DocId, f64)] {
        &self.ranked[q.0 as usize]
    }

    /// Writes the run in TREC format (`qid Q0 docno rank score tag`, ranks from 1, queries in
    /// order of first appearance).
    pub fn write(&self, mut out: impl Write) -> std::io::Result<()> {
        for (q, name) in self.query_ids() {
            for (rank, &(d, score)) in self.ranking(q).iter().enumerate() {
                writeln!(
                    out,
                    "{name} Q0 {} {} {score} {}",
                    self.doc_name(d),
                    rank + 1,
                    self.tag
                )?;
            }
        }
        Ok(())
    }

    /// Writes the run to `path` (see [`Run::write`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        self.write(&mut w).map_err(io)?;
        w.flush().map_err(io)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    doc: DocId,
    line: u32,
    score: f64,
}

/// Collects a run in memory; [`RunBuilder::build`] orders each query and rejects duplicates.
#[derive(Debug, Default)]
pub struct RunBuilder {
    source: Source,
    tag: Option<String>,
    queries: Interner,
    docs: Interner,
    rows: Vec<Vec<Entry>>,
    pushed: u32,
}

impl RunBuilder {
    /// Sets the run tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = Some(tag.to_owned());
        self
    }

    fn query_slot(&mut self, qid: &str) -> usize {
        let q = self.queries.intern(qid) as usize;
        if q == self.rows.len() {
            self.rows.push(Vec::new());
        }
        q
    }

    /// Adds `docno` with `score` to the ranking of `qid`.
    pub fn push(&mut self, qid: &str, docno: &str, score: f64) -> &mut Self {
        self.pushed += 1;
        let q = self.query_slot(qid);
        let doc = DocId(self.docs.intern(docno));
        self.rows[q].push(Entry {
            doc,
            line: self.pushed,
            score,
        });
        self
    }

    /// Consuming form of [`RunBuilder::push`] for chaining.
    pub fn doc(mut self, qid: &str, docno: &str, score: f64) -> Self {
        self.push(qid, docno, score);
        self
    }

    /// The run; an error names the second occurrence of a duplicate (qid, docno) or a NaN score.
    pub fn build(self) -> Result<Run> {
        let RunBuilder {
            source,
            tag,
            queries,
            docs,
            rows,
            ..
        } = self;
        // Duplicates: stamp each document with the last query that used it.
        let mut stamp = vec![u32::MAX; docs.len()];
        for (q, entries) in rows.iter().enumerate() {
            for e in entries {
                if e.score.is_nan() {
                    return Err(Error::Parse {
                        source_name: source,
                        line: u64::from(e.line),
                        field: "score",
                        reason: "NaN score".into(),
                    });
                }
                // Entries are in input order, so the first hit is the earliest second occurrence.
                let s = &mut stamp[e.doc.0 as usize];
                if *s == q as u32 {
                    return Err(Error::Duplicate {
                        source_name: source,
                        line: u64::from(e.line),
                        qid: queries.name(q as u32).to_owned(),
                        docno: docs.name(e.doc.0).to_owned(),
                    });
                }
                *s = q as u32;
            }
        }
        let ranked = rows
            .into_par_iter()
            .map(|mut entries| {
                entries.sort_unstable_by(|a, b| trec_order(a.score, b.score, a.doc, b.doc, &docs));
                entries.into_iter().map(|e| (e.doc, e.score)).collect()
            })
            .collect();
        Ok(Run {
            tag: tag.unwrap_or_default(),
            queries,
            docs,
            ranked,
        })
    }
}

/// trec_eval's order: score descending, then docno descending (byte order).
fn trec_order(sa: f64, sb: f64, da: DocId, db: DocId, docs: &Interner) -> Ordering {
    sb.partial_cmp(&sa)
        .unwrap_or(Ordering::Equal)
        .then_with(|| {
            if da == db {
                Ordering::Equal
            } else {
                docs.name(db.0).cmp(docs.name(da.0))
            }
        })
}
