//! Property tests: readers never panic, measures stay in [0, 1], input order is irrelevant,
//! an unjudged document ranked last leaves MAP unchanged.

use clir_metrics::{Evaluator, Measure, Qrels, Run, Source, all_trec};
use proptest::prelude::*;

/// Judgements: (query, doc, label) with unique (query, doc).
fn qrels_lines() -> impl Strategy<Value = Vec<(u8, u8, i32)>> {
    prop::collection::btree_map((0u8..4, 0u8..20), -1i32..4, 1..40)
        .prop_map(|m| m.into_iter().map(|((q, d), l)| (q, d, l)).collect())
}

/// Run lines: (query, doc, score) with unique (query, doc); few distinct scores for ties.
fn run_lines() -> impl Strategy<Value = Vec<(u8, u8, f64)>> {
    prop::collection::btree_map((0u8..4, 0u8..25), 0u8..6, 1..60).prop_map(|m| {
        m.into_iter()
            .map(|((q, d), s)| (q, d, f64::from(s) * 0.5))
            .collect()
    })
}

fn qrels_text(lines: &[(u8, u8, i32)]) -> String {
    lines
        .iter()
        .map(|(q, d, l)| format!("q{q} 0 d{d} {l}\n"))
        .collect()
}

fn run_text(lines: &[(u8, u8, f64)]) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, (q, d, s))| format!("q{q} Q0 d{d} {i} {s} tag\n"))
        .collect()
}

fn evaluate(q: &str, r: &str) -> Option<clir_metrics::Evaluation> {
    let qrels = Qrels::parse(q.as_bytes(), Source::Memory).unwrap();
    let run = Run::parse(r.as_bytes(), Source::Memory).unwrap();
    let mut ms = all_trec();
    ms.extend([
        Measure::Rr(Some(10)),
        Measure::NdcgExp(Some(10)),
        Measure::Judged(10),
    ]);
    Evaluator::new(ms).evaluate(&qrels, &run).ok()
}

/// Valid run text with `edits` random byte overwrites, insertions and deletions.
fn mutated_run() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..12);
    (run_lines(), edits).prop_map(|(lines, edits)| {
        let mut bytes = run_text(&lines).into_bytes();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        bytes
    })
}

/// Reader fuzzing (the substitute for cargo-fuzz, which this toolchain set-up lacks): arbitrary
/// bytes, near-valid token soups and mutated valid files must give a value or an error, never a
/// panic; whatever parses must survive a write/parse round trip.
fn parses_or_errs(bytes: &[u8]) {
    let _ = Qrels::parse(bytes, Source::Memory);
    if let Ok(run) = Run::parse(bytes, Source::Memory) {
        let mut text = Vec::new();
        run.write(&mut text).unwrap();
        let again = Run::parse(&text, Source::Memory).unwrap();
        let mut text2 = Vec::new();
        again.write(&mut text2).unwrap();
        assert_eq!(text, text2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn readers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parses_or_errs(&bytes);
    }

    #[test]
    fn readers_never_panic_on_mutated_files(bytes in mutated_run()) {
        parses_or_errs(&bytes);
    }

    #[test]
    fn loading_never_panics_on_bad_gzip(tail in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = std::env::temp_dir().join(format!("clir-metrics-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.gz");
        let mut bytes = vec![0x1f, 0x8b];
        bytes.extend(tail);
        std::fs::write(&path, &bytes).unwrap();
        let _ = Qrels::load(&path);
        let _ = Run::load(&path);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn readers_never_panic_on_near_valid_text(
        lines in prop::collection::vec(
            prop::collection::vec(prop_oneof!["q1", "Q0", "d[0-9]", "-?[0-9]{1,3}", "1e9", "nan", "x", ""], 0..8),
            0..10,
        )
    ) {
        let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
        parses_or_errs(text.as_bytes());
    }

    #[test]
    fn measures_are_in_unit_interval(q in qrels_lines(), r in run_lines()) {
        if let Some(ev) = evaluate(&qrels_text(&q), &run_text(&r)) {
            // `utility` counts documents (relevant minus non-relevant retrieved).
            for m in ev.measures().iter().filter(|m| !m.is_count() && **m != Measure::Utility) {
                for v in ev.per_query(m).unwrap() {
                    prop_assert!((0.0..=1.0).contains(&v), "{m} = {v}");
                }
                let mean = ev.mean(m).unwrap();
                prop_assert!((0.0..=1.0 + 1e-12).contains(&mean), "{m} = {mean}");
            }
        }
    }

    #[test]
    fn line_order_changes_nothing(
        q in qrels_lines(),
        r in run_lines(),
        seed in any::<u64>(),
    ) {
        let shuffle = |n: usize, salt: u64| {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by_key(|&i| (i as u64 ^ seed ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            idx
        };
        let q2: Vec<_> = shuffle(q.len(), 1).into_iter().map(|i| q[i]).collect();
        let r2: Vec<_> = shuffle(r.len(), 2).into_iter().map(|i| r[i]).collect();
        let a = evaluate(&qrels_text(&q), &run_text(&r)).map(|e| e.to_trec_eval(true, true));
        let b = evaluate(&qrels_text(&q2), &run_text(&r2)).map(|e| e.to_trec_eval(true, true));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn unjudged_doc_ranked_last_keeps_map(q in qrels_lines(), r in run_lines()) {
        let qt = qrels_text(&q);
        let base = evaluate(&qt, &run_text(&r));
        let mut text = run_text(&r);
        for query in 0..4 {
            text.push_str(&format!("q{query} Q0 unjudged 0 -1.0 tag\n"));
        }
        let more = evaluate(&qt, &text);
        if let (Some(a), Some(b)) = (base, more) {
            for (qid, x) in a.queries().iter().zip(a.per_query(&Measure::Map).unwrap()) {
                let y = b.value(qid, &Measure::Map).unwrap();
                prop_assert!((x - y).abs() < 1e-15, "{qid}: {x} vs {y}");
            }
        }
    }
}
