//! The statistics file format (version 1) and atomic save/load.
//!
//! All integers little-endian; `vec<T>` is a `u64` length followed by the elements; `str` is a
//! `u32` byte length followed by UTF-8.
//!
//! ```text
//! magic        8 bytes  "COOCSTAT"
//! version      u32      1
//! tokenizer    u8       0 = word, 1 = subword
//!   word:      u8 lowercase (0/1), u8 punctuation (0 keep, 1 split, 2 strip),
//!              u64 |src vocab|, str…, u64 |tgt vocab|, str…
//!   subword:   u64 FNV-1a 64 of the tokenizer.json bytes
//! n_pairs      u64
//! src_marg     vec<u32>
//! tgt_marg     vec<u32>
//! row_ptr      vec<u64>      CSR over source ids
//! cols         vec<u32>      target ids, sorted within a row
//! counts       vec<u32>
//! model1       u8 0/1; if 1: vec<f32> t(t|s) per CSR entry, vec<f32> t(t|NULL) per target id
//! checksum     u64      FNV-1a 64 of every preceding byte
//! ```
//!
//! Saving writes `<path>.tmp-<pid>` in the same folder, syncs it and renames it over `path`, so
//! a reader never sees a half-written file. Loading checks magic, version, checksum, lengths and
//! the tokenizer identity.

use std::fs::File;
use std::hash::Hasher;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::bitext::{Fnv64, read_all};
use crate::tokenize::{Interner, SubwordTokenizer};
use crate::{CoocStats, CoocTable, Error, Model1, Punctuation, Result, Tokenizer, WordOptions};

const MAGIC: &[u8; 8] = b"COOCSTAT";
/// The format version written by this build.
pub const VERSION: u32 = 1;

struct HashingWriter<W> {
    inner: W,
    hash: Fnv64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.write(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn put_vec_u32(w: &mut impl Write, v: &[u32]) -> std::io::Result<()> {
    w.write_all(&(v.len() as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(v.len().min(1 << 16) * 4);
    for chunk in v.chunks(1 << 16) {
        buf.clear();
        chunk
            .iter()
            .for_each(|x| buf.extend_from_slice(&x.to_le_bytes()));
        w.write_all(&buf)?;
    }
    Ok(())
}

fn put_vec_f32(w: &mut impl Write, v: &[f32]) -> std::io::Result<()> {
    let bits: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
    put_vec_u32(w, &bits)
}

fn put_vocab(w: &mut impl Write, words: &Interner) -> std::io::Result<()> {
    w.write_all(&(words.len() as u64).to_le_bytes())?;
    for s in words.words() {
        w.write_all(&(s.len() as u32).to_le_bytes())?;
        w.write_all(s.as_bytes())?;
    }
    Ok(())
}

fn write_body(w: &mut impl Write, stats: &CoocStats) -> std::io::Result<()> {
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    match &stats.tokenizer {
        Tokenizer::Word { options, src, tgt } => {
            let p = match options.punctuation {
                Punctuation::Keep => 0u8,
                Punctuation::Split => 1,
                Punctuation::Strip => 2,
            };
            w.write_all(&[0, u8::from(options.lowercase), p])?;
            put_vocab(w, src)?;
            put_vocab(w, tgt)?;
        }
        Tokenizer::Subword(t) => {
            let crate::TokenizerIdentity::Subword { hash } = t.identity() else {
                unreachable!("a subword tokenizer has a subword identity")
            };
            w.write_all(&[1])?;
            w.write_all(&hash.to_le_bytes())?;
        }
    }
    let t = &stats.table;
    w.write_all(&t.n_pairs.to_le_bytes())?;
    put_vec_u32(w, &t.src_marginals)?;
    put_vec_u32(w, &t.tgt_marginals)?;
    w.write_all(&(t.row_ptr.len() as u64).to_le_bytes())?;
    for x in &t.row_ptr {
        w.write_all(&x.to_le_bytes())?;
    }
    put_vec_u32(w, &t.cols)?;
    put_vec_u32(w, &t.counts)?;
    match &stats.model1 {
        None => w.write_all(&[0])?,
        Some(m) => {
            w.write_all(&[1])?;
            put_vec_f32(w, &m.prob)?;
            put_vec_f32(w, &m.null_prob)?;
        }
    }
    Ok(())
}

pub(crate) fn save(stats: &CoocStats, path: &Path) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!("{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Fnv64::default(),
        };
        write_body(&mut w, stats)?;
        let sum = w.hash.finish();
        w.inner.write_all(&sum.to_le_bytes())?;
        let file = w.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: impl Into<String>) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.err(format!("truncated at byte {}", self.pos)));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn len(&mut self, elem: usize) -> Result<usize> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| self.err("length overflows usize"))?;
        if n.saturating_mul(elem) > self.bytes.len() - self.pos {
            return Err(self.err(format!("length {n} exceeds the file at byte {}", self.pos)));
        }
        Ok(n)
    }
    fn vec_u32(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        let b = self.take(n * 4)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn vocab(&mut self) -> Result<Interner> {
        let n = self.len(4)?;
        let mut out = Interner::default();
        for k in 0..n {
            let len = self.u32()? as usize;
            let at = self.pos;
            let s = std::str::from_utf8(self.take(len)?)
                .map_err(|_| self.err(format!("vocabulary entry at byte {at} is not UTF-8")))?;
            let id = out.intern(s) as usize;
            if id != k {
                return Err(self.err(format!(
                    "vocabulary entry {k} at byte {at} ({s:?}) repeats entry {id}"
                )));
            }
        }
        Ok(out)
    }
}

pub(crate) fn load(path: &Path, tokenizer: Option<&Path>) -> Result<CoocStats> {
    let bytes = read_all(path)?;
    let fmt = |reason: String| Error::Format {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < MAGIC.len() + 12 || &bytes[..8] != MAGIC {
        return Err(fmt("bad magic".into()));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut h = Fnv64::default();
    h.write(body);
    let mut stored = [0u8; 8];
    stored.copy_from_slice(sum);
    if h.finish() != u64::from_le_bytes(stored) {
        return Err(fmt("checksum mismatch (file corrupt or truncated)".into()));
    }
    let mut r = Reader {
        path,
        bytes: body,
        pos: 8,
    };
    let version = r.u32()?;
    if version != VERSION {
        return Err(fmt(format!(
            "version {version}, this build reads {VERSION}"
        )));
    }
    let tok = match r.u8()? {
        0 => {
            let lowercase = r.u8()? != 0;
            let punctuation = match r.u8()? {
                0 => Punctuation::Keep,
                1 => Punctuation::Split,
                2 => Punctuation::Strip,
                p => return Err(r.err(format!("punctuation code {p}"))),
            };
            let src = r.vocab()?;
            let tgt = r.vocab()?;
            let options = WordOptions {
                lowercase,
                punctuation,
            };
            if let Some(p) = tokenizer {
                let offered = SubwordTokenizer::load(p)?.identity();
                return Err(Error::TokenizerMismatch {
                    stored: crate::TokenizerIdentity::Word(options).to_string(),
                    offered: offered.to_string(),
                });
            }
            Tokenizer::Word { options, src, tgt }
        }
        1 => {
            let hash = r.u64()?;
            let stored = crate::TokenizerIdentity::Subword { hash };
            let Some(p) = tokenizer else {
                return Err(Error::TokenizerMismatch {
                    stored: stored.to_string(),
                    offered: "none (word mode)".into(),
                });
            };
            let t = SubwordTokenizer::load(p)?;
            if t.identity() != stored {
                return Err(Error::TokenizerMismatch {
                    stored: stored.to_string(),
                    offered: t.identity().to_string(),
                });
            }
            Tokenizer::Subword(Box::new(t))
        }
        k => return Err(r.err(format!("tokenizer kind {k}"))),
    };
    let n_pairs = r.u64()?;
    let src_marginals = r.vec_u32()?;
    let tgt_marginals = r.vec_u32()?;
    let n = r.len(8)?;
    let mut row_ptr = Vec::with_capacity(n);
    for _ in 0..n {
        row_ptr.push(r.u64()?);
    }
    let cols = r.vec_u32()?;
    let counts = r.vec_u32()?;
    if cols.len() != counts.len()
        || row_ptr.last().copied().unwrap_or(0) != cols.len() as u64
        || row_ptr.windows(2).any(|w| w[0] > w[1])
    {
        return Err(r.err("inconsistent CSR arrays"));
    }
    let model1 = match r.u8()? {
        0 => None,
        1 => {
            let prob: Vec<f32> = r.vec_u32()?.into_iter().map(f32::from_bits).collect();
            let null_prob = r.vec_u32()?.into_iter().map(f32::from_bits).collect();
            if prob.len() != cols.len() {
                return Err(r.err("model1 length differs from the table"));
            }
            Some(Model1 { prob, null_prob })
        }
        k => return Err(r.err(format!("model1 flag {k}"))),
    };
    if r.pos != body.len() {
        return Err(r.err(format!("{} trailing bytes", body.len() - r.pos)));
    }
    Ok(CoocStats {
        tokenizer: tok,
        table: CoocTable {
            n_pairs,
            src_marginals,
            tgt_marginals,
            row_ptr,
            cols,
            counts,
        },
        model1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary that names a word twice would make ids ambiguous: the file is refused,
    /// with the entry and its byte offset.
    #[test]
    fn a_repeated_vocabulary_entry_is_a_format_error() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(VERSION.to_le_bytes());
        bytes.extend([0, 1, 0]); // word tokenizer, lowercase, punctuation kept
        bytes.extend(2u64.to_le_bytes());
        for w in ["ruwa", "ruwa"] {
            bytes.extend((w.len() as u32).to_le_bytes());
            bytes.extend(w.as_bytes());
        }
        let mut h = Fnv64::default();
        h.write(&bytes);
        bytes.extend(h.finish().to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dup.cooc");
        std::fs::write(&path, &bytes).unwrap();
        let err = load(&path, None).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("vocabulary entry 1 at byte 35 (\"ruwa\") repeats entry 0"),
            "{err}"
        );
    }
}
