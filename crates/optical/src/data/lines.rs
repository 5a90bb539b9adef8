//! Reading whole (small) text files, gzipped or plain, as UTF-8.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// Reads a file, gunzipping it when its name ends in `.gz`, and checks that it is UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.exists() {
        return Err(Error::MissingData {
            path: path.to_path_buf(),
            hint: "check --data-root (default ../shared/data) and ../shared/data/README.md".into(),
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    } else {
        std::io::BufReader::new(file)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::Field {
            path: path.to_path_buf(),
            line,
            field: "<text>".into(),
            reason: "not valid UTF-8".into(),
        }
    })
}

/// Reads a line-per-sentence file (gzipped or plain): lines split on `\n`, a trailing `\r`
/// removed, the final empty line (after the last newline) dropped.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = read_text(path)?;
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    Ok(lines)
}
