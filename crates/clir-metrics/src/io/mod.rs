//! Reading and writing TREC files: whole-file reads (plain or gzip), line and field splitting.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result, Source};

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Splits `line` on ASCII whitespace into exactly `N` fields.
pub(crate) fn split_fields<'a, const N: usize>(
    line: &'a [u8],
    source: &Source,
    line_no: u64,
) -> Result<[&'a [u8]; N]> {
    let mut out: [&[u8]; N] = [&[]; N];
    let mut n = 0;
    for field in line
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
    {
        if n == N {
            return Err(columns(source, line_no, N, "more"));
        }
        out[n] = field;
        n += 1;
    }
    if n < N {
        return Err(columns(source, line_no, N, "fewer"));
    }
    Ok(out)
}

fn columns(source: &Source, line: u64, n: usize, what: &str) -> Error {
    Error::Parse {
        source_name: source.clone(),
        line,
        field: "columns",
        reason: format!("expected {n} whitespace-separated columns, found {what}"),
    }
}

/// A field as UTF-8 text.
pub(crate) fn text<'a>(
    field: &'a [u8],
    name: &'static str,
    source: &Source,
    line: u64,
) -> Result<&'a str> {
    std::str::from_utf8(field).map_err(|_| Error::Parse {
        source_name: source.clone(),
        line,
        field: name,
        reason: "not valid UTF-8".into(),
    })
}

/// Iterates over `(1-based line number, line)` of `bytes`, skipping blank lines.
pub(crate) fn lines(bytes: &[u8], first_line: u64) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(move |(i, l)| (first_line + i as u64, l))
        .filter(|(_, l)| l.iter().any(|b| !b.is_ascii_whitespace()))
}

/// Splits `bytes` into about `parts` chunks that end at line boundaries; returns each chunk
/// with the 1-based number of its first line.
pub(crate) fn chunks(bytes: &[u8], parts: usize) -> Vec<(u64, &[u8])> {
    let mut out = Vec::with_capacity(parts);
    let target = bytes.len().div_ceil(parts.max(1)).max(1 << 16);
    let mut start = 0;
    let mut line = 1u64;
    while start < bytes.len() {
        let mut end = (start + target).min(bytes.len());
        if end < bytes.len() {
            end = match memchr::memchr(b'\n', &bytes[end..]) {
                Some(i) => end + i + 1,
                None => bytes.len(),
            };
        }
        let chunk = &bytes[start..end];
        out.push((line, chunk));
        line += memchr::memchr_iter(b'\n', chunk).count() as u64;
        start = end;
    }
    out
}
