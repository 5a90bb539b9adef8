//! Reading TREC files: whole-file reads (plain or gzip), chunking at line boundaries, field
//! splitting.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result, Source};

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = read_parallel(path).map_err(io)?;
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

/// Reads a file whole; large files in parallel blocks (copying a large file from the page
/// cache, and faulting in the pages it lands on, is then no longer one thread's work).
fn read_parallel(path: &Path) -> std::io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use rayon::prelude::*;
        use std::os::unix::fs::FileExt;

        const BLOCK: usize = 8 << 20;
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        if len >= 4 * BLOCK && rayon::current_num_threads() > 1 {
            let mut out = vec![0u8; len];
            out.par_chunks_mut(BLOCK)
                .enumerate()
                .try_for_each(|(i, block)| file.read_exact_at(block, (i * BLOCK) as u64))?;
            return Ok(out);
        }
    }
    std::fs::read(path)
}

/// Splits `line` on ASCII whitespace into exactly `N` fields; `None` for a blank line.
#[inline]
pub(crate) fn split_fields<'a, const N: usize>(
    line: &'a str,
    source: &Source,
    line_no: u64,
) -> Result<Option<[&'a str; N]>> {
    let bytes = line.as_bytes();
    let mut out: [&str; N] = [""; N];
    let mut n = 0;
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if n == N {
            return Err(columns(source, line_no, N, "more"));
        }
        // Both ends sit next to ASCII bytes (or at the ends of `line`): char boundaries.
        out[n] = &line[start..i];
        n += 1;
    }
    match n {
        0 => Ok(None),
        n if n < N => Err(columns(source, line_no, N, "fewer")),
        _ => Ok(Some(out)),
    }
}

fn columns(source: &Source, line: u64, n: usize, what: &str) -> Error {
    Error::Parse {
        source_name: source.clone(),
        line,
        field: "columns",
        reason: format!("expected {n} whitespace-separated columns, found {what}"),
    }
}

/// The longest prefix of `chunk` made of whole lines of valid UTF-8 (all of it when valid),
/// and, when the rest is not valid UTF-8, the error naming the line and field of the first bad
/// byte (`fields` names the columns). Callers parse the prefix first, so that the error
/// reported is the first of the file.
pub(crate) fn utf8_prefix<'a>(
    chunk: &'a [u8],
    first_line: u64,
    fields: &[&'static str],
    source: &Source,
) -> (&'a str, Option<Error>) {
    match std::str::from_utf8(chunk) {
        Ok(text) => (text, None),
        Err(e) => {
            let bad = e.valid_up_to();
            let line_start = memchr::memrchr(b'\n', &chunk[..bad]).map_or(0, |i| i + 1);
            let prefix = std::str::from_utf8(&chunk[..line_start])
                .expect("a prefix of the valid part is valid");
            let line = first_line + memchr::memchr_iter(b'\n', prefix.as_bytes()).count() as u64;
            // The number of fields started up to the bad byte, the bad one included.
            let mut field = 0;
            let mut in_field = false;
            for &b in &chunk[line_start..=bad] {
                let ws = b.is_ascii_whitespace();
                if !ws && !in_field {
                    field += 1;
                }
                in_field = !ws;
            }
            let error = Error::Parse {
                source_name: source.clone(),
                line,
                field: fields.get(field.max(1) - 1).copied().unwrap_or("columns"),
                reason: "not valid UTF-8".into(),
            };
            (prefix, Some(error))
        }
    }
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

/// The 1-based line number of record `index` (0-based) of `bytes`, blank lines not being
/// records. Only errors need it, so rows do not carry their line numbers.
pub(crate) fn record_line(bytes: &[u8], index: usize) -> u64 {
    let nonblank = |l: &&[u8]| l.iter().any(|b| !b.is_ascii_whitespace());
    let position = (bytes.split(|&b| b == b'\n').enumerate())
        .filter(|(_, l)| nonblank(l))
        .nth(index)
        .map_or(0, |(i, _)| i);
    position as u64 + 1
}
