//! Golden fixtures from POT 0.9.6 (`scripts/fixtures_ot.py`).

mod common;

use approx::assert_relative_eq;
use common::{fixture, floats, problem};
use ot_core::{Method, NdArray, Sinkhorn, Status};

/// Max |x − y| / max|y|.
fn rel_err(x: impl Iterator<Item = f64>, y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    x.zip(y).fold(0.0f64, |m, (p, q)| m.max((p - q).abs())) / scale
}

#[test]
fn log_domain_matches_pot_sinkhorn_log() {
    let pot = fixture("pot.json");
    for case in pot["sinkhorn"].as_array().expect("cases") {
        let eps = case["eps"].as_f64().expect("eps");
        let (cost, a, b) = problem(case);
        let expected = floats(&case["plan"]);
        if case["dtype"] == "f64" {
            let out = Sinkhorn::new(eps)
                .tol(1e-13)
                .max_iter(200_000)
                .solve(&NdArray::<f64>::new(), &cost, &a, &b)
                .expect("solve");
            assert_eq!(out.status[0], Status::Converged, "eps {eps}");
            let err = rel_err(out.plan.iter().copied(), &expected);
            // Plans agree to 1e-6 relative (stated tolerance of issue 4).
            assert!(
                err <= 1e-6,
                "f64 m={} n={} eps={eps}: rel err {err}",
                case["m"],
                case["n"]
            );
            assert_relative_eq!(
                out.transport_cost[0],
                case["transport_cost"].as_f64().expect("cost"),
                max_relative = 1e-6
            );
        } else {
            let (cost, a, b) = (
                cost.mapv(|x| x as f32),
                a.mapv(|x| x as f32),
                b.mapv(|x| x as f32),
            );
            let out = Sinkhorn::new(eps)
                .tol(1e-6)
                .max_iter(100_000)
                .solve(&NdArray::<f32>::new(), &cost, &a, &b)
                .expect("solve");
            assert_eq!(out.status[0], Status::Converged);
            let err = rel_err(out.plan.iter().map(|&x| f64::from(x)), &expected);
            // f32: stated tolerance 1e-3 relative to the largest entry.
            assert!(
                err <= 1e-3,
                "f32 m={} n={} eps={eps}: rel err {err}",
                case["m"],
                case["n"]
            );
        }
    }
}

#[test]
fn kernel_method_matches_pot() {
    let pot = fixture("pot.json");
    for case in pot["sinkhorn"].as_array().expect("cases") {
        let eps = case["eps"].as_f64().expect("eps");
        if case["dtype"] != "f64" || eps < 0.05 {
            continue; // kernel space underflows at small eps (tested in conformance)
        }
        let (cost, a, b) = problem(case);
        let out = Sinkhorn::new(eps)
            .tol(1e-13)
            .max_iter(100_000)
            .method(Method::Kernel)
            .solve(&NdArray::<f64>::new(), &cost, &a, &b)
            .expect("solve");
        assert_eq!(out.status[0], Status::Converged);
        let err = rel_err(out.plan.iter().copied(), &floats(&case["plan"]));
        assert!(err <= 1e-6, "kernel eps={eps}: rel err {err}");
    }
}

#[test]
fn unbalanced_matches_pot() {
    let pot = fixture("pot.json");
    for case in pot["unbalanced"].as_array().expect("cases") {
        let eps = case["eps"].as_f64().expect("eps");
        let reg_m = case["reg_m"].as_f64().expect("reg_m");
        let (cost, a, b) = problem(case);
        let out = Sinkhorn::new(eps)
            .reg_m(reg_m)
            .tol(1e-14)
            .max_iter(100_000)
            .solve(&NdArray::<f64>::new(), &cost, &a, &b)
            .expect("solve");
        assert_eq!(out.status[0], Status::Converged);
        let err = rel_err(out.plan.iter().copied(), &floats(&case["plan"]));
        assert!(
            err <= 1e-6,
            "unbalanced eps={eps} reg_m={reg_m}: rel err {err}"
        );
    }
}

#[test]
fn exact_matches_pot_emd2() {
    let pot = fixture("pot.json");
    for case in pot["emd"].as_array().expect("cases") {
        let (cost, a, b) = problem(case);
        let out = ot_core::emd(
            cost.index_axis(ot_core::ndarray::Axis(0), 0),
            a.row(0),
            b.row(0),
        )
        .expect("emd");
        let want = case["value"].as_f64().expect("value");
        assert!(
            (out.cost - want).abs() <= 1e-9,
            "m={} n={}: {} vs {want}",
            case["m"],
            case["n"],
            out.cost
        );
        let rows = out.plan.sum_axis(ot_core::ndarray::Axis(1));
        assert!((&rows - &a.row(0)).mapv(f64::abs).sum() < 1e-12);
    }
}
