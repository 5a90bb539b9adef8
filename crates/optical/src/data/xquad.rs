//! XQuAD-R (LAReQA): questions in language X against English sentences or paragraphs.
//!
//! Files: `eval/xquad-r/<lang>.json.gz`, SQuAD 1.1 JSON with per-paragraph `sentences` and
//! `sentence_breaks` (character spans into the context). The question `id`s are shared across
//! languages. The relevant document of a question is the English sentence whose span contains
//! the *English* answer's `answer_start` (so one qrels file serves every query language), or the
//! English paragraph in the paragraph variant.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::field_error;
use super::lines::read_text;
use super::{Document, EvalCollection, Judgment, Topic};
use crate::{Error, Result};

const DIR: &str = "eval/xquad-r";

/// What the documents are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Granularity {
    /// The 1,180 English sentences (the standard XQuAD-R task).
    #[default]
    Sentence,
    /// The 240 English paragraphs.
    Paragraph,
}

/// The languages whose files exist under `root`, sorted (includes `en`).
pub fn available(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(DIR);
    let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let mut langs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        if let Some(lang) = entry.file_name().to_string_lossy().strip_suffix(".json.gz") {
            langs.push(lang.to_owned());
        }
    }
    langs.sort();
    Ok(langs)
}

/// The file of one language.
pub fn file(root: &Path, lang: &str) -> PathBuf {
    root.join(DIR).join(format!("{lang}.json.gz"))
}

struct Question {
    id: String,
    text: String,
    /// (paragraph index in reading order, answer start in characters)
    paragraph: usize,
    answer_start: usize,
}

struct Parsed {
    /// Per paragraph: context and sentence spans.
    paragraphs: Vec<(String, Vec<(usize, usize)>)>,
    questions: Vec<Question>,
}

fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let root: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        line: 1,
        source,
    })?;
    let bad = |field: &str, reason: &str| field_error(path, 1, field, reason);
    let articles = root
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("data", "expected an array"))?;
    let mut out = Parsed {
        paragraphs: Vec::new(),
        questions: Vec::new(),
    };
    for (a, article) in articles.iter().enumerate() {
        let paras = article
            .get("paragraphs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&format!("data[{a}].paragraphs"), "expected an array"))?;
        for (p, para) in paras.iter().enumerate() {
            let at = |f: &str| format!("data[{a}].paragraphs[{p}].{f}");
            let context = para
                .get("context")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&at("context"), "expected a string"))?;
            let breaks = para
                .get("sentence_breaks")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(&at("sentence_breaks"), "expected an array"))?;
            let mut spans = Vec::with_capacity(breaks.len());
            for (k, b) in breaks.iter().enumerate() {
                let pair = b
                    .as_array()
                    .filter(|x| x.len() == 2)
                    .and_then(|x| Some((x[0].as_u64()?, x[1].as_u64()?)));
                let (s, e) = pair.ok_or_else(|| {
                    bad(
                        &at(&format!("sentence_breaks[{k}]")),
                        "expected [start, end]",
                    )
                })?;
                spans.push((s as usize, e as usize));
            }
            let index = out.paragraphs.len();
            let qas = para
                .get("qas")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(&at("qas"), "expected an array"))?;
            for (q, qa) in qas.iter().enumerate() {
                let atq = |f: &str| at(&format!("qas[{q}].{f}"));
                let id = qa
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&atq("id"), "expected a string"))?;
                let question = qa
                    .get("question")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&atq("question"), "expected a string"))?;
                let start = qa
                    .get("answers")
                    .and_then(|x| x.get(0))
                    .and_then(|x| x.get("answer_start"))
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad(&atq("answers[0].answer_start"), "expected an integer"))?;
                out.questions.push(Question {
                    id: id.to_owned(),
                    text: question.to_owned(),
                    paragraph: index,
                    answer_start: start as usize,
                });
            }
            out.paragraphs.push((context.to_owned(), spans));
        }
    }
    Ok(out)
}

fn sentence_id(p: usize, s: usize) -> String {
    format!("xquad-en-p{p}-s{s}")
}

fn paragraph_id(p: usize) -> String {
    format!("xquad-en-p{p}")
}

/// Loads the XQuAD-R collection for queries in `lang` against the English pool.
pub fn load(root: &Path, lang: &str, granularity: Granularity) -> Result<EvalCollection> {
    let en_path = file(root, "en");
    let en = parse(&en_path)?;
    let mut documents = Vec::new();
    for (p, (context, spans)) in en.paragraphs.iter().enumerate() {
        match granularity {
            Granularity::Paragraph => documents.push(Document {
                id: paragraph_id(p),
                text: context.clone(),
            }),
            Granularity::Sentence => {
                let chars: Vec<char> = context.chars().collect();
                for (s, &(start, end)) in spans.iter().enumerate() {
                    if start > end || end > chars.len() {
                        return Err(field_error(
                            &en_path,
                            1,
                            "sentence_breaks",
                            &format!("span {start}..{end} outside paragraph {p}"),
                        ));
                    }
                    let text: String = chars[start..end].iter().collect();
                    documents.push(Document {
                        id: sentence_id(p, s),
                        text: text.trim().to_owned(),
                    });
                }
            }
        }
    }
    // The relevant document of each question id, from the English answer.
    let mut relevant = HashMap::new();
    for q in &en.questions {
        let doc = match granularity {
            Granularity::Paragraph => paragraph_id(q.paragraph),
            Granularity::Sentence => {
                let spans = &en.paragraphs[q.paragraph].1;
                let s = spans
                    .iter()
                    .position(|&(a, b)| a <= q.answer_start && q.answer_start < b)
                    .ok_or_else(|| {
                        field_error(
                            &en_path,
                            1,
                            "answer_start",
                            &format!(
                                "question {} answer start {} is in no sentence",
                                q.id, q.answer_start
                            ),
                        )
                    })?;
                sentence_id(q.paragraph, s)
            }
        };
        relevant.insert(q.id.clone(), (doc, q.text.clone()));
    }
    let path = file(root, lang);
    let queries = if lang == "en" { en } else { parse(&path)? };
    let mut out = EvalCollection {
        name: format!("xquad-r/{lang}/{granularity:?}").to_lowercase(),
        documents,
        ..Default::default()
    };
    for q in queries.questions {
        let (doc, english) = relevant.get(&q.id).ok_or_else(|| {
            field_error(
                &path,
                1,
                "id",
                &format!(
                    "question {} has no English counterpart in {}",
                    q.id,
                    en_path.display()
                ),
            )
        })?;
        out.qrels.push(Judgment {
            query_id: q.id.clone(),
            doc_id: doc.clone(),
            relevance: 1,
        });
        out.english_queries.push(Topic {
            id: q.id.clone(),
            text: english.clone(),
        });
        out.queries.push(Topic {
            id: q.id,
            text: q.text,
        });
    }
    Ok(out)
}
