//! Reading TREC files: whole-file reads (plain or gzip), chunking at line boundaries, field
//! splitting.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result, Source};

/// A TREC file opened for parsing.
pub(crate) enum Text {
    /// A plain file, to be read in chunks ([`file_chunks`], [`read_range`]).
    File(std::fs::File),
    /// The whole text in memory: a gzipped file, decompressed.
    Memory(Vec<u8>),
}

/// Opens a TREC file: a gzipped one (by its magic bytes) is decompressed into memory, a plain
/// one is left to be read in chunks (read whole where positioned reads are not available).
pub(crate) fn open(path: &Path) -> std::io::Result<Text> {
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    if n == 2 && magic == [0x1f, 0x8b] || cfg!(not(unix)) {
        return read_bytes(path).map(Text::Memory);
    }
    Ok(Text::File(file))
}

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes.
pub(crate) fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Splits a file into consecutive byte ranges of at least `target` bytes (the last may be
/// shorter) that each end at a line boundary, reading only a little around each boundary.
#[cfg(unix)]
pub(crate) fn file_chunks(file: &std::fs::File, target: u64) -> std::io::Result<Vec<Range<u64>>> {
    use std::os::unix::fs::FileExt;

    let len = file.metadata()?.len();
    let mut window = vec![0u8; 1 << 16];
    let mut out = Vec::new();
    let mut start = 0;
    while start < len {
        // The first line start at or after `start + target`: one past the first line break at
        // or after the byte before it.
        let mut at = start + target.max(1) - 1;
        let end = loop {
            if at >= len {
                break len;
            }
            let n = (len - at).min(window.len() as u64) as usize;
            file.read_exact_at(&mut window[..n], at)?;
            match memchr::memchr(b'\n', &window[..n]) {
                Some(i) => break at + i as u64 + 1,
                None => at += n as u64,
            }
        };
        out.push(start..end);
        start = end;
    }
    Ok(out)
}

/// Reads bytes `range` of `file` into `buffer` (resized to fit).
#[cfg(unix)]
pub(crate) fn read_range(
    file: &std::fs::File,
    range: Range<u64>,
    buffer: &mut Vec<u8>,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;

    let len = usize::try_from(range.end - range.start).map_err(std::io::Error::other)?;
    buffer.resize(len, 0);
    file.read_exact_at(buffer, range.start)
}

/// Stand-ins where positioned reads are not available; [`open`] never returns a
/// [`Text::File`] there.
#[cfg(not(unix))]
pub(crate) fn file_chunks(_: &std::fs::File, _: u64) -> std::io::Result<Vec<Range<u64>>> {
    Err(std::io::Error::other(
        "chunked reading needs positioned reads",
    ))
}

/// See the other [`file_chunks`].
#[cfg(not(unix))]
pub(crate) fn read_range(_: &std::fs::File, _: Range<u64>, _: &mut Vec<u8>) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "chunked reading needs positioned reads",
    ))
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

/// Splits `bytes` into about `parts` chunks that end at line boundaries.
pub(crate) fn chunks(bytes: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(parts);
    let target = bytes.len().div_ceil(parts.max(1)).max(1 << 16);
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + target).min(bytes.len());
        if end < bytes.len() {
            end = match memchr::memchr(b'\n', &bytes[end..]) {
                Some(i) => end + i + 1,
                None => bytes.len(),
            };
        }
        out.push(&bytes[start..end]);
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

/// [`record_line`] of the text of file `path`, read again (only errors need it); 0 if the file
/// can no longer be read.
pub(crate) fn record_line_of(path: &Path, index: usize) -> u64 {
    read_bytes(path).map_or(0, |bytes| record_line(&bytes, index))
}

/// The first line of the text of `path` that is not blank, if any.
pub(crate) fn first_record(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::BufRead;

    let file = std::fs::File::open(path)?;
    let mut reader: Box<dyn BufRead> = {
        let mut buffered = std::io::BufReader::new(file);
        if buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
            Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
                buffered,
            )))
        } else {
            Box::new(buffered)
        }
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok(Some(line));
        }
    }
}
