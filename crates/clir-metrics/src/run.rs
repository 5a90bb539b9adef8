//! Ranked results (`qid Q0 docno rank score tag`).

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result, Source};
use crate::ids::{DocId, DocNames, Interner, QueryId};
use crate::io;
use crate::table::{LineFormat, Table, ids};

/// A retrieval run: for each query, documents in trec_eval order (score descending, then
/// docno descending in byte order; the rank column of a file is ignored).
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub(crate) tag: String,
    pub(crate) queries: Interner,
    pub(crate) docs: DocNames,
    /// Per query, `(doc, score)` in trec_eval order.
    pub(crate) ranked: Vec<Vec<(DocId, f64)>>,
}

/// `qid Q0 docno rank score tag`.
struct RunLine;

impl LineFormat<6> for RunLine {
    type Value = f64;
    const FIELDS: [&'static str; 6] = ["qid", "Q0", "docno", "rank", "score", "tag"];
    const QID: usize = 0;
    const DOCNO: usize = 2;

    #[inline]
    fn value(fields: &[&str; 6], source: &Source, line: u64) -> Result<f64> {
        let text = fields[4];
        if let Some(score) = parse_decimal(text) {
            return Ok(score);
        }
        match text.parse::<f64>() {
            Ok(score) if !score.is_nan() => Ok(score),
            Ok(_) => Err(Error::Parse {
                source_name: source.clone(),
                line,
                field: "score",
                reason: "NaN score".into(),
            }),
            Err(_) => Err(Error::Parse {
                source_name: source.clone(),
                line,
                field: "score",
                reason: format!("{text:?} is not a number"),
            }),
        }
    }
}

/// The run tag of a record: its last (sixth) column.
fn run_tag(line: &[u8]) -> Option<String> {
    (line.split(u8::is_ascii_whitespace))
        .filter(|f| !f.is_empty())
        .nth(5)
        .map(|t| String::from_utf8_lossy(t).into_owned())
}

/// `[-]digits[.digits]` with at most 15 significant digits, the form of nearly every score in
/// a run file, parsed exactly: the digits as an integer below 2^53 and a power of ten up to
/// 10^22 are both exact doubles, so their IEEE quotient is the correctly rounded value that
/// `str::parse` (and C's `strtod`) gives. `None` for anything else.
#[inline]
fn parse_decimal(text: &str) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa = 0u64;
    let mut point = None;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(b - b'0'),
            b'.' if point.is_none() => point = Some(i),
            _ => return None,
        }
    }
    let decimals = match point {
        // "1." and ".5" are fine for strtod, but leave them to the general parser.
        Some(p) if p == 0 || p + 1 == digits.len() => return None,
        Some(p) => digits.len() - p - 1,
        None => 0,
    };
    // At most 16 bytes, so at most 16 digits: < 10^16 < 2^54; require < 2^53.
    if mantissa >= 1 << 53 {
        return None;
    }
    let value = mantissa as f64 / POW10[decimals];
    Some(if negative { -value } else { value })
}

impl Run {
    /// A builder for a run in memory.
    pub fn builder() -> RunBuilder {
        RunBuilder::default()
    }

    /// Reads a TREC run file, plain or gzipped; large files are read and parsed in parallel
    /// chunks, never held whole in memory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let table = Table::load::<RunLine, 6>(path)?;
        let tag = io::first_record(path)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?
            .and_then(|line| run_tag(&line));
        RunBuilder { tag, table }.build_with(|d| io::record_line_of(path, d.0 as usize))
    }

    /// Parses run text; `source` names it in errors.
    pub fn parse(bytes: &[u8], source: Source) -> Result<Self> {
        let table = Table::parse::<RunLine, 6>(bytes, source)?;
        // The first record of a text that parsed has six columns.
        let tag = (bytes.split(|&b| b == b'\n'))
            .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .and_then(run_tag);
        RunBuilder { tag, table }.build_with(|d| io::record_line(bytes, d.0 as usize))
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
        self.docs.get(d)
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

/// Collects a run in memory; [`RunBuilder::build`] orders each query and rejects duplicates.
#[derive(Debug, Default)]
pub struct RunBuilder {
    tag: Option<String>,
    table: Table<f64>,
}

impl RunBuilder {
    /// Sets the run tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = Some(tag.to_owned());
        self
    }

    /// Adds `docno` with `score` to the ranking of `qid`.
    pub fn push(&mut self, qid: &str, docno: &str, score: f64) -> &mut Self {
        self.table.push(qid, docno, score);
        self
    }

    /// Consuming form of [`RunBuilder::push`] for chaining.
    pub fn doc(mut self, qid: &str, docno: &str, score: f64) -> Self {
        self.push(qid, docno, score);
        self
    }

    /// The run; an error names the earliest NaN score or repeated (qid, docno) (its line is
    /// the number of its push).
    pub fn build(self) -> Result<Run> {
        self.build_with(|d| u64::from(d.0) + 1)
    }

    /// [`RunBuilder::build`] with `line` giving the line of a row in errors.
    fn build_with(self, line: impl Fn(DocId) -> u64) -> Result<Run> {
        let RunBuilder { tag, table } = self;
        if let Some(d) = table.values.iter().position(|s| s.is_nan()) {
            return Err(Error::Parse {
                source_name: table.source,
                line: line(DocId(d as u32)),
                field: "score",
                reason: "NaN score".into(),
            });
        }
        if let Some((q, d)) = table.first_duplicate() {
            return Err(table.duplicate_error(q, d, line(d)));
        }
        let ranked = (table.spans.par_iter())
            .map(|spans| trec_order(spans, &table.values, &table.docs))
            .collect();
        Ok(Run {
            tag: tag.unwrap_or_default(),
            queries: table.queries,
            docs: table.docs,
            ranked,
        })
    }
}

/// A key whose unsigned order is the descending order of scores, with -0.0 equal to 0.0 as
/// in trec_eval's floating-point comparisons (scores are never NaN here).
fn descending(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits();
    let ascending = if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    };
    !ascending
}

/// trec_eval's order: score descending, then docno descending (byte order). The rows are
/// sorted by an integer key computed once per row (runs written in rank order are only
/// checked), and then only the runs of tied scores by docno: several times faster than one sort
/// comparing floats and, on ties, strings.
fn trec_order(spans: &[Range<u32>], scores: &[f64], docs: &DocNames) -> Vec<(DocId, f64)> {
    let mut keyed: Vec<(u64, DocId)> = ids(spans)
        .map(|d| (descending(scores[d.0 as usize]), d))
        .collect();
    if !keyed.is_sorted_by_key(|&(key, _)| key) {
        keyed.sort_unstable_by_key(|&(key, _)| key);
    }
    let mut start = 0;
    while start < keyed.len() {
        let key = keyed[start].0;
        let end = start + (keyed[start..].iter()).take_while(|e| e.0 == key).count();
        if end - start > 1 {
            keyed[start..end].sort_unstable_by(|a, b| docs.bytes(b.1).cmp(docs.bytes(a.1)));
        }
        start = end;
    }
    (keyed.into_iter())
        .map(|(_, d)| (d, scores[d.0 as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_fast_path_matches_the_standard_parser() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut texts: Vec<String> = ["0", "-0", "-0.000", "1.5", "12", "0.1", "9007199254740993"]
            .map(String::from)
            .to_vec();
        for _ in 0..20_000 {
            let (a, b) = (rng.random_range(1..9), rng.random_range(1..9));
            let int: u64 = rng.random_range(0..10u64.pow(a));
            let frac: u64 = rng.random_range(0..10u64.pow(b));
            let sign = if rng.random_bool(0.3) { "-" } else { "" };
            texts.push(format!("{sign}{int}.{frac}"));
            texts.push(format!("{sign}{int}"));
        }
        for t in &texts {
            let standard: f64 = t.parse().unwrap();
            if let Some(fast) = parse_decimal(t) {
                assert_eq!(fast.to_bits(), standard.to_bits(), "{t}");
            }
        }
        for t in [
            "1e5",
            ".5",
            "5.",
            "1.2.3",
            "",
            "-",
            "inf",
            "0x10",
            "12345678901234567",
        ] {
            assert_eq!(parse_decimal(t), None, "{t}");
        }
    }

    #[test]
    fn trec_order_is_the_same_for_sorted_and_shuffled_input() {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        // Scores with ties (and -0.0 = 0.0), docnos whose byte order breaks them.
        let rows: Vec<(String, f64)> = (0..300)
            .map(|i| {
                (
                    format!("d{}", (i * 37) % 1000),
                    f64::from((i % 23) - 11) / 4.0,
                )
            })
            .map(|(d, s)| (d, if s == 0.0 { -0.0 } else { s }))
            .collect();
        let ranking = |rows: &[(String, f64)]| -> Vec<(String, f64)> {
            let mut b = Run::builder();
            for (d, s) in rows {
                b.push("q", d, *s);
            }
            let run = b.build().unwrap();
            let q = run.query("q").unwrap();
            (run.ranking(q).iter())
                .map(|&(d, s)| (run.doc_name(d).to_owned(), s))
                .collect()
        };
        let mut want = rows.clone();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        // total_cmp puts -0.0 below 0.0; trec_eval treats them as equal (none here is 0.0).
        assert_eq!(ranking(&want), want, "input already in trec_eval order");
        let mut shuffled = rows;
        shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        assert_eq!(ranking(&shuffled), want, "shuffled input");
    }
}
