//! Agreement with pytrec_eval (trec_eval 9.0.8) on generated nasty cases, to 1e-9.
//! Fixtures: `scripts/fixtures_metrics.py`.

use std::path::PathBuf;

use clir_metrics::{Evaluator, Measure, Qrels, Run, all_trec};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn matches_pytrec_eval_on_raw_values() {
    let qrels = Qrels::load(fixture("nasty.qrels")).unwrap();
    let run = Run::load(fixture("nasty.run")).unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("trec_eval_golden.json")).unwrap())
            .unwrap();
    let mut measures = all_trec();
    measures.extend([
        Measure::Rr(Some(10)),
        Measure::NdcgExp(Some(10)),
        Measure::Judged(10),
    ]);
    let mut checked = 0;
    for case in golden["cases"].as_array().unwrap() {
        let level = case["relevance_level"].as_i64().unwrap() as i32;
        let judged = case["judged_only"].as_bool().unwrap();
        let max_rank = case["max_rank"].as_u64().map(|m| m as usize);
        let ev = Evaluator::new(measures.clone())
            .relevance_level(level)
            .judged_only(judged)
            .max_rank(max_rank)
            .evaluate(&qrels, &run)
            .unwrap();
        let values = case["values"].as_object().unwrap();
        let mut qids: Vec<String> = values.keys().cloned().collect();
        qids.sort();
        assert_eq!(ev.queries(), qids.as_slice(), "evaluated queries");
        for (qid, vals) in values {
            for (name, expected) in vals.as_object().unwrap() {
                let m = Measure::parse_list(name).unwrap();
                assert_eq!(m.len(), 1, "{name}");
                let mut got = ev.value(qid, &m[0]).unwrap();
                // pytrec_eval reports the per-query logarithm for the geometric means.
                if matches!(m[0], Measure::GmMap | Measure::GmBpref) {
                    got = got.max(1e-5).ln();
                }
                let Some(expected) = expected.as_f64() else {
                    assert!(
                        got.is_nan(),
                        "{qid} {name}: {got} is not NaN like trec_eval's"
                    );
                    continue;
                };
                assert!(
                    (got - expected).abs() <= 1e-9,
                    "level {level} judged {judged} M {max_rank:?} {qid} {name}: {got} != {expected}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}
