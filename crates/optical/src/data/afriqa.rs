//! AfriQA-R: native-language questions against English Wikipedia gold passages.
//!
//! Files: `eval/afriqa/gold_span_passages.afriqa.<lang>.en.<split>.json.gz`, JSON lines with
//! `question_lang` (the query), `question_translated` (its human English translation),
//! `context` (the English passage) and `answer_pivot {answer_start: [i], text: [t]}`.
//! The document pool is every unique non-empty `context` across **all** AfriQA files under the
//! root (every language and split), so one pool serves every language. Each query has exactly one
//! judged passage, its own row's; the *strict* variant keeps only rows whose answer span checks
//! out (`context[answer_start..]` starts with the answer text, in characters, as Python slices).
//! Languages are discovered from the file names, so adding a language is adding its files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{field_error, opt_str, parse_line};
use super::lines::read_text;
use super::{Document, EvalCollection, Judgment, SkippedRow, Topic, content_id};
use crate::{Error, Result};

const DIR: &str = "eval/afriqa";
const PREFIX: &str = "gold_span_passages.afriqa.";

/// Which rows become queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QrelsVariant {
    /// Only rows whose answer span checks out against the passage (the default).
    #[default]
    Strict,
    /// Every row with a passage and a question.
    All,
}

/// The `(language, split)` pairs whose files exist under `root`, sorted.
pub fn available(root: &Path) -> Result<Vec<(String, String)>> {
    let dir = root.join(DIR);
    let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_suffix(".json.gz"))
        else {
            continue;
        };
        // <lang>.en.<split>
        let parts: Vec<&str> = rest.split('.').collect();
        if let [lang, "en", split] = parts[..] {
            found.push((lang.to_owned(), split.to_owned()));
        }
    }
    found.sort();
    Ok(found)
}

/// The file of one language and split.
pub fn file(root: &Path, lang: &str, split: &str) -> PathBuf {
    root.join(DIR)
        .join(format!("{PREFIX}{lang}.en.{split}.json.gz"))
}

/// One usable row of an AfriQA file.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    question: Option<String>,
    question_en: Option<String>,
    context: Option<String>,
    span_ok: bool,
}

fn read_rows(path: &Path) -> Result<Vec<(usize, Row)>> {
    let text = read_text(path)?;
    let mut rows = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v = parse_line(line, path, line_no)?;
        let id = match v.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(field_error(
                    path,
                    line_no,
                    "id",
                    "expected a string or integer",
                ));
            }
        };
        let question = opt_str(&v, "question_lang", path, line_no)?.map(str::to_owned);
        let question_en = opt_str(&v, "question_translated", path, line_no)?.map(str::to_owned);
        let context = opt_str(&v, "context", path, line_no)?.map(str::to_owned);
        let span_ok = match &context {
            Some(c) => span_checks_out(&v, c, path, line_no)?,
            None => false,
        };
        rows.push((
            line_no,
            Row {
                id,
                question,
                question_en,
                context,
                span_ok,
            },
        ));
    }
    Ok(rows)
}

/// `context[answer_start..]` (in characters) starts with the answer text.
fn span_checks_out(v: &Value, context: &str, path: &Path, line: usize) -> Result<bool> {
    let pivot = v
        .get("answer_pivot")
        .ok_or_else(|| field_error(path, line, "answer_pivot", "absent"))?;
    let start = pivot
        .get("answer_start")
        .and_then(|s| s.get(0))
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            field_error(
                path,
                line,
                "answer_pivot.answer_start",
                "expected [integer, ...]",
            )
        })?;
    let Some(answer) = pivot
        .get("text")
        .and_then(|t| t.get(0))
        .and_then(Value::as_str)
    else {
        return Err(field_error(
            path,
            line,
            "answer_pivot.text",
            "expected [string, ...]",
        ));
    };
    let Ok(start) = usize::try_from(start) else {
        return Ok(false);
    };
    let mut chars = context.chars();
    if start > 0 && chars.nth(start - 1).is_none() {
        return Ok(false);
    }
    Ok(chars.as_str().starts_with(answer))
}

/// The AfriQA texts that training data must not contain: every passage of every language and
/// split (the passages are the retrieval documents), and the questions — native and English —
/// of every split except `train` (test is the evaluation split, dev holds the development topics).
/// Train-split questions are not evaluation text: [`question_pairs`] offers them as in-domain
/// bitext.
pub fn evaluation_texts(root: &Path) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for (lang, split) in available(root)? {
        for (_, row) in read_rows(&file(root, &lang, &split))? {
            texts.extend(row.context);
            if split != "train" {
                texts.extend([row.question, row.question_en].into_iter().flatten());
            }
        }
    }
    Ok(texts)
}

/// The `(line, native question, human English translation)` triples of one language's `split`
/// file, in file order (lines 1-based); rows without either side (JSON null, NaN or blank) are
/// skipped. Read from `train`, these are in-domain, question-style bitext (the `afriqa-train`
/// bitext source).
pub fn question_pairs(
    root: &Path,
    lang: &str,
    split: &str,
) -> Result<Vec<(usize, String, String)>> {
    Ok(read_rows(&file(root, lang, split))?
        .into_iter()
        .filter_map(|(line, row)| {
            let (q, en) = (row.question?, row.question_en?);
            (!q.trim().is_empty() && !en.trim().is_empty()).then_some((line, q, en))
        })
        .collect())
}

/// Every unique non-empty passage of every AfriQA file under `root`, with stable ids, sorted by id.
pub fn documents(root: &Path) -> Result<Vec<Document>> {
    let mut docs = BTreeMap::new();
    for (lang, split) in available(root)? {
        for (_, row) in read_rows(&file(root, &lang, &split))? {
            if let Some(c) = row.context.filter(|c| !c.trim().is_empty()) {
                docs.entry(content_id("afriqa-", &c)).or_insert(c);
            }
        }
    }
    Ok(docs
        .into_iter()
        .map(|(id, text)| Document { id, text })
        .collect())
}

/// Loads the AfriQA-R collection of one language and split (queries, English translations,
/// judgments) over the shared passage pool.
pub fn load(root: &Path, lang: &str, split: &str, variant: QrelsVariant) -> Result<EvalCollection> {
    let path = file(root, lang, split);
    let rows = read_rows(&path)?;
    let mut out = EvalCollection {
        name: format!("afriqa-r/{lang}/{split}"),
        documents: documents(root)?,
        ..EvalCollection::default()
    };
    let mut seen = std::collections::HashSet::new();
    for (line, row) in rows {
        let skip = |reason: &str| SkippedRow {
            path: path.clone(),
            line,
            reason: reason.to_owned(),
        };
        let Some(question) = row.question.filter(|q| !q.trim().is_empty()) else {
            out.skipped
                .push(skip("question_lang is null, NaN or empty"));
            continue;
        };
        let Some(context) = row.context.filter(|c| !c.trim().is_empty()) else {
            out.skipped.push(skip("context is null or empty"));
            continue;
        };
        if variant == QrelsVariant::Strict && !row.span_ok {
            out.skipped
                .push(skip("answer span does not check out (strict qrels)"));
            continue;
        }
        let query_id = format!("{lang}-{split}-{}", row.id);
        if !seen.insert(query_id.clone()) {
            return Err(field_error(
                &path,
                line,
                "id",
                &format!("duplicate id {}", row.id),
            ));
        }
        if let Some(en) = row.question_en.filter(|q| !q.trim().is_empty()) {
            out.english_queries.push(Topic {
                id: query_id.clone(),
                text: en,
            });
        }
        out.qrels.push(Judgment {
            query_id: query_id.clone(),
            doc_id: content_id("afriqa-", &context),
            relevance: 1,
        });
        out.queries.push(Topic {
            id: query_id,
            text: question,
        });
    }
    Ok(out)
}
