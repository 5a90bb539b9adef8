//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub)]

use ot_core::ndarray::{Array2, Array3};
use serde_json::Value;

/// Reads a committed fixture file.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// A JSON array of numbers as `Vec<f64>`.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// A `[1, m, n]` cost and `[1, m]`, `[1, n]` marginals of a fixture case.
pub fn problem(case: &Value) -> (Array3<f64>, Array2<f64>, Array2<f64>) {
    let m = case["m"].as_u64().expect("m") as usize;
    let n = case["n"].as_u64().expect("n") as usize;
    let cost = Array3::from_shape_vec((1, m, n), floats(&case["cost"])).expect("cost");
    let a = Array2::from_shape_vec((1, m), floats(&case["a"])).expect("a");
    let b = Array2::from_shape_vec((1, n), floats(&case["b"])).expect("b");
    (cost, a, b)
}
