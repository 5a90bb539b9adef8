//! JSON as Python writes it: `json.dumps` emits bare `NaN`, `Infinity` and `-Infinity`, which
//! are not JSON. They are read as `null` here so that the caller's type check reports the field
//! (and the row is skipped with a reason) instead of the whole file failing to parse.

use std::path::Path;

use serde_json::Value;

use crate::{Error, Result};

/// Parses one JSON value from a line of `path`, reading Python's non-finite literals as `null`.
pub(crate) fn parse_line(text: &str, path: &Path, line: usize) -> Result<Value> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let cleaned = null_non_finite(text);
            if cleaned == text {
                return Err(Error::Json {
                    path: path.to_path_buf(),
                    line,
                    source: first,
                });
            }
            serde_json::from_str(&cleaned).map_err(|source| Error::Json {
                path: path.to_path_buf(),
                line,
                source,
            })
        }
    }
}

/// Replaces the bare tokens `NaN`, `Infinity`, `-Infinity` outside strings by `null`.
fn null_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The string at `field` of `row`, or `None` when it is `null` (or a non-finite number).
/// Any other type is an error naming the field.
pub(crate) fn opt_str<'a>(
    row: &'a Value,
    field: &str,
    path: &Path,
    line: usize,
) -> Result<Option<&'a str>> {
    match row.get(field) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) => Ok(None),
        None => Err(field_error(path, line, field, "absent")),
        Some(other) => Err(field_error(
            path,
            line,
            field,
            &format!("expected a string, found {other}"),
        )),
    }
}

pub(crate) fn field_error(path: &Path, line: usize, field: &str, reason: &str) -> Error {
    Error::Field {
        path: path.to_path_buf(),
        line,
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_non_finite_literals_become_null_outside_strings_only() {
        let p = Path::new("x.json");
        let v = parse_line(
            r#"{"q": NaN, "s": "NaN \" Infinity", "x": -Infinity}"#,
            p,
            3,
        )
        .unwrap();
        assert!(v["q"].is_null());
        assert_eq!(v["s"], "NaN \" Infinity");
        assert!(v["x"].is_null());
    }

    #[test]
    fn malformed_json_names_file_and_line() {
        let err = parse_line("{\"q\": ", Path::new("f.jsonl"), 7).unwrap_err();
        assert!(
            err.to_string().starts_with("f.jsonl:7: invalid JSON"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let p = Path::new("f.jsonl");
        let v = parse_line(r#"{"question_lang": 3}"#, p, 2).unwrap();
        let err = opt_str(&v, "question_lang", p, 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.jsonl:2: field `question_lang`: expected a string, found 3"
        );
        assert!(opt_str(&v, "context", p, 2).is_err());
    }
}
