//! Streaming bitext readers: line-aligned file pairs and TSV, gzipped or plain.
//!
//! Every reader is an [`Iterator`] of `Result<`[`SentencePair`]`>` holding one line per side in
//! memory, so a corpus of any size streams in bounded memory. Gzip is recognised by its magic
//! bytes, not by the file name. A byte-order mark is removed from the start of every cell
//! (MENYO-20k has BOMs inside cells, not only at the file start).

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::{Error, Result};

/// One aligned sentence pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentencePair {
    /// Source-side sentence.
    pub src: String,
    /// Target-side sentence.
    pub tgt: String,
    /// 1-based line number in the input (the TSV line, header included).
    pub line: u64,
}

/// Opens `path` for buffered reading, transparently decompressing gzip (detected by magic bytes).
pub fn open_text(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads lines of one file as UTF-8, naming file and line on failure.
struct LineReader {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
}

impl LineReader {
    fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            inner: open_text(path)?,
            buf: Vec::new(),
            line: 0,
        })
    }

    /// Next line without its terminator (`\n` or `\r\n`), `None` at end of file.
    fn next_line(&mut self) -> Result<Option<String>> {
        self.buf.clear();
        let n = self
            .inner
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::io(&self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(Some(s.to_owned())),
            Err(e) => Err(Error::Parse {
                path: self.path.clone(),
                line: self.line,
                reason: format!("not valid UTF-8 ({e})"),
            }),
        }
    }
}

fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

/// Line-aligned bitext: line *i* of `src` translates line *i* of `tgt`.
///
/// Ends with [`Error::Misaligned`] if one file has more lines than the other.
pub struct LinePairs {
    src: LineReader,
    tgt: LineReader,
    done: bool,
}

impl LinePairs {
    /// Opens the two sides (each gzipped or plain).
    pub fn open(src: impl AsRef<Path>, tgt: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            src: LineReader::open(src.as_ref())?,
            tgt: LineReader::open(tgt.as_ref())?,
            done: false,
        })
    }
}

impl Iterator for LinePairs {
    type Item = Result<SentencePair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = (|| {
            let s = self.src.next_line()?;
            let t = self.tgt.next_line()?;
            match (s, t) {
                (None, None) => Ok(None),
                (Some(s), Some(t)) => Ok(Some(SentencePair {
                    src: strip_bom(&s).to_owned(),
                    tgt: strip_bom(&t).to_owned(),
                    line: self.src.line,
                })),
                (None, Some(_)) => Err(Error::Misaligned {
                    short: self.src.path.clone(),
                    long: self.tgt.path.clone(),
                    lines: self.src.line,
                }),
                (Some(_), None) => Err(Error::Misaligned {
                    short: self.tgt.path.clone(),
                    long: self.src.path.clone(),
                    lines: self.tgt.line,
                }),
            }
        })();
        match step {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// What to do with a TSV row that has more columns than expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrayColumns {
    /// Skip the row and record its line in the [`TsvReport`] (the default: such rows are
    /// usually a quoted tab that shifted the columns, as in MENYO-20k dev line 700).
    #[default]
    Skip,
    /// Keep the row, reading the configured columns, and record its line.
    Keep,
    /// Stop with [`Error::Parse`].
    Error,
}

/// Options of [`TsvPairs`].
#[derive(Debug, Clone)]
pub struct TsvOptions {
    /// The first line is a header (skipped).
    pub header: bool,
    /// Column of the source side (0-based).
    pub src_col: usize,
    /// Column of the target side (0-based).
    pub tgt_col: usize,
    /// Policy for rows with extra columns.
    pub stray: StrayColumns,
}

impl Default for TsvOptions {
    fn default() -> Self {
        Self {
            header: true,
            src_col: 0,
            tgt_col: 1,
            stray: StrayColumns::Skip,
        }
    }
}

/// What a TSV read noticed, available at any time from [`TsvPairs::report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsvReport {
    /// Data rows returned.
    pub rows: u64,
    /// Lines (1-based) that had more columns than expected.
    pub stray_lines: Vec<u64>,
    /// Cells that started with a byte-order mark (removed).
    pub bom_cells: u64,
    /// The header's column names, if there was a header.
    pub header: Option<Vec<String>>,
}

/// Tab-separated bitext, one pair per row.
pub struct TsvPairs {
    reader: LineReader,
    options: TsvOptions,
    report: TsvReport,
    done: bool,
}

impl TsvPairs {
    /// Opens a TSV file (gzipped or plain).
    pub fn open(path: impl AsRef<Path>, options: TsvOptions) -> Result<Self> {
        Ok(Self {
            reader: LineReader::open(path.as_ref())?,
            options,
            report: TsvReport::default(),
            done: false,
        })
    }

    /// What has been noticed so far (complete once the iterator is exhausted).
    pub fn report(&self) -> &TsvReport {
        &self.report
    }

    fn row(&mut self) -> Result<Option<SentencePair>> {
        loop {
            let Some(line) = self.reader.next_line()? else {
                return Ok(None);
            };
            let cells: Vec<&str> = line.split('\t').collect();
            let mut cells: Vec<&str> = cells
                .into_iter()
                .map(|c| {
                    if c.starts_with('\u{feff}') {
                        self.report.bom_cells += 1;
                    }
                    strip_bom(c)
                })
                .collect();
            if self.reader.line == 1 && self.options.header {
                self.report.header = Some(cells.iter().map(|c| c.to_string()).collect());
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let want = self.options.src_col.max(self.options.tgt_col) + 1;
            let expected = self
                .report
                .header
                .as_ref()
                .map_or(want, |h| h.len().max(want));
            if cells.len() < want {
                return Err(Error::Parse {
                    path: self.reader.path.clone(),
                    line: self.reader.line,
                    reason: format!("{} columns, expected {expected}", cells.len()),
                });
            }
            if cells.len() > expected {
                self.report.stray_lines.push(self.reader.line);
                match self.options.stray {
                    StrayColumns::Skip => continue,
                    StrayColumns::Keep => {}
                    StrayColumns::Error => {
                        return Err(Error::Parse {
                            path: self.reader.path.clone(),
                            line: self.reader.line,
                            reason: format!("{} columns, expected {expected}", cells.len()),
                        });
                    }
                }
            }
            let tgt = std::mem::take(&mut cells[self.options.tgt_col]).to_owned();
            let src = cells[self.options.src_col].to_owned();
            self.report.rows += 1;
            return Ok(Some(SentencePair {
                src,
                tgt,
                line: self.reader.line,
            }));
        }
    }
}

impl Iterator for TsvPairs {
    type Item = Result<SentencePair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.row() {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Drops repeated `(src, tgt)` pairs, keeping the first occurrence.
///
/// Memory is 8 bytes per distinct pair (a 64-bit hash of both sides, FNV-1a); with 1M pairs the
/// chance of a false duplicate is about 3·10⁻⁸.
pub struct Dedup<I> {
    inner: I,
    seen: HashSet<u64, IdentityHash>,
    dropped: u64,
}

impl<I> Dedup<I> {
    /// Wraps a pair iterator.
    pub fn new(inner: I) -> Self {
        Self {
            inner,
            seen: HashSet::with_hasher(IdentityHash),
            dropped: 0,
        }
    }

    /// Number of duplicates dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl<I: Iterator<Item = Result<SentencePair>>> Iterator for Dedup<I> {
    type Item = Result<SentencePair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let pair = match self.inner.next()? {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            let mut h = Fnv64::default();
            h.write(pair.src.as_bytes());
            h.write(&[0xff]);
            h.write(pair.tgt.as_bytes());
            if self.seen.insert(h.finish()) {
                return Some(Ok(pair));
            }
            self.dropped += 1;
        }
    }
}

/// FNV-1a, 64 bit: a stable hash (the same in every build), used for pair deduplication and
/// the tokenizer identity recorded in statistics files.
#[derive(Clone, Copy)]
pub(crate) struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Hasher for keys that are already hashes.
#[derive(Clone, Copy, Default)]
pub(crate) struct IdentityHash;

/// The state of [`IdentityHash`].
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl BuildHasher for IdentityHash {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher::default()
    }
}

/// Reads all of `reader` (used for hashing small files).
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut v))
        .map_err(|e| Error::io(path, e))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn line_pairs_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), "a.txt", b"\xef\xbb\xbfone\r\ntwo\n");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all("un\ndeux".as_bytes()).unwrap();
        let t = write(dir.path(), "b.gz", &gz.finish().unwrap());
        let pairs: Vec<_> = LinePairs::open(&s, &t)
            .unwrap()
            .map(|p| p.unwrap())
            .collect();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].src, "one");
        assert_eq!(pairs[1].tgt, "deux");
        assert_eq!(pairs[1].line, 2);
    }

    #[test]
    fn misaligned_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), "a.txt", b"1\n2\n3\n");
        let t = write(dir.path(), "b.txt", b"1\n2\n");
        let last = LinePairs::open(&s, &t).unwrap().last().unwrap();
        let err = last.unwrap_err();
        assert!(matches!(err, Error::Misaligned { lines: 2, .. }), "{err}");
        assert!(err.to_string().contains("b.txt"), "{err}");
    }

    #[test]
    fn non_utf8_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), "a.txt", b"ok\nbad \xff\n");
        let t = write(dir.path(), "b.txt", b"ok\nok\n");
        let err = LinePairs::open(&s, &t)
            .unwrap()
            .nth(1)
            .unwrap()
            .unwrap_err();
        match err {
            Error::Parse { path, line, .. } => {
                assert_eq!(path, s);
                assert_eq!(line, 2);
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn tsv_header_bom_and_stray_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "x.tsv",
            "English\tYoruba\n\u{feff}a\tb\nc\t\u{feff}d\te\nf\tg\n".as_bytes(),
        );
        let mut r = TsvPairs::open(&p, TsvOptions::default()).unwrap();
        let rows: Vec<_> = r.by_ref().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].src.as_str(), rows[0].tgt.as_str()), ("a", "b"));
        assert_eq!(rows[1].line, 4);
        let rep = r.report();
        assert_eq!(rep.stray_lines, vec![3]);
        assert_eq!(rep.bom_cells, 2);
        assert_eq!(rep.header.as_deref().unwrap()[1], "Yoruba");
    }

    #[test]
    fn tsv_short_row_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "x.tsv", b"h1\th2\nonly\n");
        let err = TsvPairs::open(&p, TsvOptions::default())
            .unwrap()
            .next()
            .unwrap();
        assert!(matches!(err, Err(Error::Parse { line: 2, .. })));
    }

    #[test]
    fn dedup_drops_repeats() {
        let mk = |s: &str, t: &str, line| {
            Ok(SentencePair {
                src: s.into(),
                tgt: t.into(),
                line,
            })
        };
        let v = vec![
            mk("a", "b", 1),
            mk("a", "c", 2),
            mk("a", "b", 3),
            mk("ab", "", 4),
        ];
        let mut d = Dedup::new(v.into_iter());
        let kept: Vec<_> = d.by_ref().map(|p| p.unwrap().line).collect();
        assert_eq!(kept, vec![1, 2, 4]);
        assert_eq!(d.dropped(), 1);
    }
}
