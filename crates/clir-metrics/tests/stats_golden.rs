//! Significance tests against scipy 1.17 to 1e-8 (fixtures: `scripts/fixtures_metrics.py`).

use approx::assert_abs_diff_eq;
use clir_metrics::stats;

fn golden() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats_golden.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vec(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn matches_scipy() {
    let g = golden();
    for (i, case) in g["cases"].as_array().unwrap().iter().enumerate() {
        let (a, b) = (vec(&case["a"]), vec(&case["b"]));
        let f = |k: &str| case[k].as_f64().unwrap();
        let t = stats::paired_t(&a, &b).unwrap();
        assert_abs_diff_eq!(t.statistic, f("t_statistic"), epsilon = 1e-8);
        assert_abs_diff_eq!(t.p_value, f("t_pvalue"), epsilon = 1e-8);
        let w = stats::wilcoxon(&a, &b).unwrap();
        assert_abs_diff_eq!(w.statistic, f("wilcoxon_statistic"), epsilon = 1e-8);
        assert!(
            (w.p_value - f("wilcoxon_pvalue")).abs() < 1e-8,
            "case {i}: {w:?}"
        );
        assert_abs_diff_eq!(
            stats::cohens_d(&a, &b).unwrap(),
            f("cohen_d"),
            epsilon = 1e-8
        );
        if let Some(p) = case["randomization_pvalue"].as_f64() {
            let r = stats::randomization(&a, &b, 0, 0).unwrap();
            assert!((r.p_value - p).abs() < 1e-8, "case {i}: {r:?} vs {p}");
        }
    }
    let c = &g["corrections"];
    let p = vec(&c["p"]);
    for (x, y) in stats::holm(&p).iter().zip(vec(&c["holm"])) {
        assert_abs_diff_eq!(*x, y, epsilon = 1e-12);
    }
    for (x, y) in stats::bonferroni(&p).iter().zip(vec(&c["bonferroni"])) {
        assert_abs_diff_eq!(*x, y, epsilon = 1e-12);
    }
}

#[test]
fn randomization_monte_carlo_is_seeded_and_close_to_exact() {
    // 24 pairs: above the exact limit; the Monte Carlo p-value must be reproducible and near
    // the t-test's (the two agree closely for smooth, symmetric differences).
    let a: Vec<f64> = (0..24).map(|i| ((i * 37 % 11) as f64) / 11.0).collect();
    let b: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, x)| x + 0.05 + ((i % 5) as f64 - 2.0) * 0.04)
        .collect();
    let r1 = stats::randomization(&a, &b, 20_000, 7).unwrap();
    let r2 = stats::randomization(&a, &b, 20_000, 7).unwrap();
    assert_eq!(r1, r2);
    let t = stats::paired_t(&a, &b).unwrap();
    assert!((r1.p_value - t.p_value).abs() < 0.02, "{r1:?} vs {t:?}");
}

#[test]
fn bootstrap_matches_analytic_expectations() {
    let a: Vec<f64> = (0..200)
        .map(|i| ((i * 7919 % 1000) as f64) / 1000.0)
        .collect();
    let b: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, x)| x + ((i * 31 % 17) as f64 - 6.0) / 100.0)
        .collect();
    let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
    let n = d.len() as f64;
    let m = d.iter().sum::<f64>() / n;
    // Standard error of the bootstrap mean: population sd / sqrt(n).
    let se = (d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt() / n.sqrt();
    let out = stats::bootstrap(&a, &b, 20_000, 0.05, 11).unwrap();
    assert_abs_diff_eq!(out.mean_diff, m, epsilon = 1e-12);
    // The 95% percentile interval is about m +- 1.96 se.
    assert!((out.ci_low - (m - 1.96 * se)).abs() < 0.1 * se, "{out:?}");
    assert!((out.ci_high - (m + 1.96 * se)).abs() < 0.1 * se, "{out:?}");
    let z = m / se;
    let p_normal = 2.0 * (1.0 - 0.5 * (1.0 + statrs::function::erf::erf(z.abs() / 2f64.sqrt())));
    assert!(
        (out.p_value - p_normal).abs() < 0.01 + 0.2 * p_normal,
        "{out:?} vs {p_normal}"
    );
}
