//! FLORES-200 devtest as a bitext-retrieval diagnostic: query = line *i* in language X, the one
//! relevant document = line *i* of English. FLORES devtest is a test set: it is never trained on.

use std::path::{Path, PathBuf};

use super::lines::read_lines;
use super::{Document, EvalCollection, Judgment, Topic};
use crate::{Error, Result};

const DIR: &str = "bitext/flores200";

/// The FLORES file of `code` in `split` (`dev` or `devtest`). `code` is either a full FLORES
/// code (`hau_Latn`) or a bare language code in any spelling of
/// [`code_aliases`](super::bitext::code_aliases) (`hau`, `swa`, `hi`), matched against the files
/// present.
pub fn file(root: &Path, code: &str, split: &str) -> Result<PathBuf> {
    let dir = root.join(DIR).join(split);
    let exact = dir.join(format!("{code}.{split}.gz"));
    if exact.exists() {
        return Ok(exact);
    }
    let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let names: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    // The first spelling of the language with a file: `swa` finds `swh_Latn`, `hi` `hin_Deva`.
    let mut hits: Vec<PathBuf> = Vec::new();
    for alias in super::bitext::code_aliases(code) {
        let prefix = format!("{alias}_");
        hits = names
            .iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .cloned()
            .collect();
        if !hits.is_empty() {
            break;
        }
    }
    hits.sort();
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(Error::MissingData {
            path: exact,
            hint: format!("no FLORES {split} file for `{code}` in {}", dir.display()),
        }),
        _ => Err(Error::MissingData {
            path: exact,
            hint: format!(
                "`{code}` is ambiguous in {}: name the script too, e.g. {}",
                dir.display(),
                hits[0].display()
            ),
        }),
    }
}

/// Loads the devtest retrieval diagnostic for language `code` against English.
pub fn load_devtest(root: &Path, code: &str) -> Result<EvalCollection> {
    let src_path = file(root, code, "devtest")?;
    let eng_path = file(root, "eng_Latn", "devtest")?;
    let src = read_lines(&src_path)?;
    let eng = read_lines(&eng_path)?;
    if src.len() != eng.len() {
        return Err(Error::Field {
            path: src_path,
            line: src.len().min(eng.len()) + 1,
            field: "<line>".into(),
            reason: format!(
                "{} lines, but {} has {}",
                src.len(),
                eng_path.display(),
                eng.len()
            ),
        });
    }
    let mut out = EvalCollection {
        name: format!("flores-devtest/{code}"),
        ..Default::default()
    };
    for (i, (q, d)) in src.into_iter().zip(eng).enumerate() {
        let doc_id = format!("flores-eng-{i}");
        out.queries.push(Topic {
            id: format!("flores-{code}-{i}"),
            text: q,
        });
        out.qrels.push(Judgment {
            query_id: format!("flores-{code}-{i}"),
            doc_id: doc_id.clone(),
            relevance: 1,
        });
        out.documents.push(Document {
            id: doc_id,
            text: d,
        });
    }
    Ok(out)
}
