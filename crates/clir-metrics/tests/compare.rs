//! The comparison report: per-query alignment over the qrels queries, tests, markers, JSON.

use clir_metrics::compare::{CompareOptions, Correction, Test, compare};
use clir_metrics::{Measure, Qrels, Run};

#[test]
fn report_marks_a_clearly_better_run() {
    let mut q = Qrels::builder();
    let mut base = Run::builder();
    let mut good = Run::builder();
    for i in 0..30 {
        let qid = format!("q{i}");
        q.push(&qid, "rel", 1);
        q.push(&qid, "non", 0);
        // Baseline ranks the relevant document second, the good run first.
        base.push(&qid, "non", 2.0 + f64::from(i % 3))
            .push(&qid, "rel", 1.0);
        good.push(&qid, "rel", 2.0)
            .push(&qid, "non", 1.0 - f64::from(i % 2) * 0.5);
    }
    q.push("q_missing", "rel", 1);
    let (q, base, good) = (
        q.build().unwrap(),
        base.build().unwrap(),
        good.build().unwrap(),
    );
    for test in [Test::T, Test::Wilcoxon, Test::Randomization] {
        let opts = CompareOptions::new([Measure::Map, Measure::Rr(Some(10))])
            .test(test)
            .correction(Correction::Holm);
        let r = compare(
            &q,
            ("base", &base),
            &[("good", &good), ("same", &base)],
            &opts,
        )
        .unwrap();
        assert_eq!(r.num_queries, 31);
        // 30 queries at 0.5 and one missing at 0, over 31 queries.
        assert!((r.baseline_means[0] - 15.0 / 31.0).abs() < 1e-12);
        assert!(
            r.runs[0].cells[0].significant,
            "{test:?}: {:?}",
            r.runs[0].cells[0]
        );
        assert!(!r.runs[1].cells[0].significant);
        let md = r.to_markdown();
        assert!(
            md.contains("| base (baseline) |") && md.contains('†'),
            "{md}"
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(json["runs"][0]["name"], "good");
    }
}
