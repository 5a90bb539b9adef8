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
