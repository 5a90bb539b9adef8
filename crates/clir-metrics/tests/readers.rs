//! Reader errors name file, line and field; gzip and the run writer round-trip.

use std::io::Write;

use clir_metrics::{Error, Qrels, Run, Source};

fn err_of<T: std::fmt::Debug>(r: Result<T, Error>) -> Error {
    r.expect_err("expected an error")
}

#[test]
fn errors_name_line_and_field() {
    let e = err_of(Run::parse(
        b"q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 x t\n",
        Source::Memory,
    ));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 2,
                field: "score",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err_of(Run::parse(b"q1 Q0 d1 1 1.0\n", Source::Memory));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 1,
                field: "columns",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err_of(Qrels::parse(b"q1 0 d1 1\n\nq1 0 d2 high\n", Source::Memory));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 3,
                field: "rel",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err_of(Qrels::parse(b"q1 0 d1 1 extra\n", Source::Memory));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 1,
                field: "columns",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err_of(Qrels::parse(
        b"q1 0 d1 1\nq2 0 d1 1\nq1 0 d1 0\n",
        Source::Memory,
    ));
    assert!(matches!(e, Error::Duplicate { line: 3, .. }), "{e:?}");
    let e = err_of(Run::parse(
        b"q1 Q0 d1 1 1 t\nq2 Q0 d1 1 1 t\nq1 Q0 d1 2 0.5 t\n",
        Source::Memory,
    ));
    assert!(matches!(e, Error::Duplicate { line: 3, .. }), "{e:?}");
    let e = err_of(Run::parse(b"q1 Q0 d1 1 NaN t\n", Source::Memory));
    assert!(matches!(e, Error::Parse { field: "score", .. }), "{e:?}");
}

#[test]
fn error_messages_name_the_file() {
    let dir = std::env::temp_dir().join(format!("clir-metrics-readers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.run");
    std::fs::write(&path, "q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 oops t\n").unwrap();
    let msg = Run::load(&path).unwrap_err().to_string();
    assert!(msg.contains("bad.run:2") && msg.contains("score"), "{msg}");
    let missing = Qrels::load(dir.join("missing.qrels")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gzip_and_writer_round_trip() {
    let dir = std::env::temp_dir().join(format!("clir-metrics-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = Run::builder()
        .tag("t")
        .doc("q2", "b", 0.25)
        .doc("q2", "a", 0.25)
        .doc("q1", "x", 3.5)
        .build()
        .unwrap();
    // Ties: docno descending.
    let names: Vec<&str> = run
        .ranking(run.query("q2").unwrap())
        .iter()
        .map(|&(d, _)| run.doc_name(d))
        .collect();
    assert_eq!(names, ["b", "a"]);
    let mut text = Vec::new();
    run.write(&mut text).unwrap();
    let path = dir.join("run.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let back = Run::load(&path).unwrap();
    let mut again = Vec::new();
    back.write(&mut again).unwrap();
    assert_eq!(text, again);
    assert_eq!(back.tag(), "t");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_utf8_names_line_and_field_and_earlier_errors_win() {
    let e = err_of(Run::parse(
        b"q1 Q0 d1 1 1.0 t\nq1 Q0 d\xff2 2 0.5 t\n",
        Source::Memory,
    ));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 2,
                field: "docno",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err_of(Run::parse(
        b"q1 Q0 d1 1 x t\nq1 Q0 d\xff2 2 0.5 t\n",
        Source::Memory,
    ));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 1,
                field: "score",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err_of(Qrels::parse(b"\n\xffq 0 d 1\n", Source::Memory));
    assert!(
        matches!(
            e,
            Error::Parse {
                line: 2,
                field: "qid",
                ..
            }
        ),
        "{e:?}"
    );
}

/// Text large enough to be parsed in several chunks, queries interleaved across them.
fn big_run(dup_at: Option<usize>) -> (String, Vec<(String, String, f64)>) {
    let mut text = String::new();
    let mut rows: Vec<(String, String, f64)> = Vec::new();
    for i in 0..200_000usize {
        let q = format!("q{}", (i / 7) % 13);
        let d = format!("d{}", i.wrapping_mul(2_654_435_761) % 1_000_003);
        let d = if dup_at == Some(i) {
            rows[i - 13 * 7].1.clone()
        } else {
            d
        };
        let s = f64::from((i % 101) as u32) / 4.0;
        text.push_str(&format!("{q} Q0 {d} 0 {s} t\n"));
        if i % 1000 == 0 {
            text.push('\n');
        }
        rows.push((q, d, s));
    }
    (text, rows)
}

#[test]
fn chunked_parse_equals_the_builder() {
    let (text, rows) = big_run(None);
    let parsed = Run::parse(text.as_bytes(), Source::Memory).unwrap();
    let mut b = Run::builder().tag("t");
    for (q, d, s) in &rows {
        b.push(q, d, *s);
    }
    let built = b.build().unwrap();
    // A file of this size is read in more than one chunk too.
    let dir = std::env::temp_dir().join(format!("clir-metrics-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.run");
    std::fs::write(&path, &text).unwrap();
    let loaded = Run::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
    parsed.write(&mut x).unwrap();
    built.write(&mut y).unwrap();
    loaded.write(&mut z).unwrap();
    assert!(x == y);
    assert!(x == z);
    assert_eq!(parsed.num_queries(), 13);
    assert_eq!(loaded.tag(), "t");
}

#[test]
fn duplicates_are_found_across_chunks() {
    let at = 150_000;
    let (text, _) = big_run(Some(at));
    let e = err_of(Run::parse(text.as_bytes(), Source::Memory));
    // A blank line after records 0, 1000, 2000, ...
    let line = (at + at.div_ceil(1000)) as u64 + 1;
    assert!(
        matches!(e, Error::Duplicate { line: l, .. } if l == line),
        "{e:?}"
    );
    let dir = std::env::temp_dir().join(format!("clir-metrics-dup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dup.run");
    std::fs::write(&path, &text).unwrap();
    let e = err_of(Run::load(&path));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        matches!(e, Error::Duplicate { line: l, .. } if l == line),
        "{e:?}"
    );
}
