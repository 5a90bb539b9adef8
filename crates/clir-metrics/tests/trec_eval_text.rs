//! The `trec_eval` text output against trec_eval 9.0.8 built from source, line for line
//! (fixtures: `TREC_EVAL=... scripts/fixtures_metrics.py`). trec_eval lines of measures this
//! crate does not implement (`relstring`) are skipped; every other line must be identical, in
//! the same order.

use std::collections::HashSet;

use clir_metrics::cli::TrecEvalArgs;

#[test]
fn text_output_matches_trec_eval_9_0_8() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/trec_eval_text.json")).unwrap(),
    )
    .unwrap();
    for case in golden["runs"].as_array().unwrap() {
        let mut args: Vec<String> = case["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().into())
            .collect();
        args.push(format!("{dir}/nasty.qrels"));
        args.push(format!("{dir}/nasty.run"));
        let ours = TrecEvalArgs::parse(args.clone())
            .unwrap()
            .execute()
            .unwrap();
        let names: HashSet<&str> = ours
            .lines()
            .map(|l| l.split('\t').next().unwrap().trim_end())
            .collect();
        let expected: Vec<&str> = case["output"]
            .as_str()
            .unwrap()
            .lines()
            .filter(|l| names.contains(l.split('\t').next().unwrap().trim_end()))
            .collect();
        let got: Vec<&str> = ours.lines().collect();
        assert_eq!(got.len(), expected.len(), "{args:?}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e, "{args:?}");
        }
    }
}
