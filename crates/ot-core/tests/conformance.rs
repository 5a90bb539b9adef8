//! One test per behaviour, expanded over every backend by `conformance!`.

mod common;

use common::{TestBackend, random_batch, sub};
use ot_core::ndarray::{Array2, Array3, Axis};
use ot_core::{CostKind, Error, Method, Potentials, Sinkhorn, Status};

/// Marginals hold at convergence for every problem of a padded batch; padding has zero mass.
fn marginals_hold<B: TestBackend>(be: &B, tol: f64) {
    let (cost, a, b) = random_batch(1, &[(7, 5), (3, 8), (9, 9)]);
    let out = Sinkhorn::new(0.05)
        .tol(tol)
        .solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b))
        .expect("solve");
    assert!(out.converged(), "{:?}", out.status);
    let plan = be.mat_host(&out.plan);
    for k in 0..3 {
        let rows = plan.index_axis(Axis(0), k).sum_axis(Axis(1));
        let cols = plan.index_axis(Axis(0), k).sum_axis(Axis(0));
        let err =
            (&rows - &a.row(k)).mapv(f64::abs).sum() + (&cols - &b.row(k)).mapv(f64::abs).sum();
        assert!(err <= 3.0 * tol, "problem {k}: marginal error {err}");
        assert!(out.marginal_error[k] <= 3.0 * tol);
        assert!(!out.error_history[k].is_empty());
    }
    // Exactly zero on padding (problem 1 has 3 rows of 9, problem 0 has 5 columns of 9).
    assert!(
        sub(&plan, &[(1..2).into(), (3..).into(), (..).into()])
            .iter()
            .all(|&p| p == 0.0)
    );
    assert!(
        sub(&plan, &[(0..1).into(), (..).into(), (5..).into()])
            .iter()
            .all(|&p| p == 0.0)
    );
    let f = be.vec_host(&out.f);
    assert!(
        sub(&f, &[(1..2).into(), (3..).into()])
            .iter()
            .all(|&x| x == 0.0)
    );
}

/// Solving a problem padded inside a batch gives the plan of the problem alone.
fn padding_invariant<B: TestBackend>(be: &B, tol: f64) {
    let (cost, a, b) = random_batch(2, &[(4, 6), (8, 3)]);
    let solver = Sinkhorn::new(0.1).tol(tol * 1e-2).max_iter(5000);
    let batch = solver
        .solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b))
        .expect("solve");
    let plan = be.mat_host(&batch.plan);
    let alone_cost = sub(&cost, &[(0..1).into(), (0..4).into(), (0..6).into()]).to_owned();
    let alone = solver
        .solve(
            be,
            &be.mat(&alone_cost),
            &be.vec(&sub(&a, &[(0..1).into(), (0..4).into()]).to_owned()),
            &be.vec(&sub(&b, &[(0..1).into(), (0..6).into()]).to_owned()),
        )
        .expect("solve");
    let alone_plan = be.mat_host(&alone.plan);
    for (p, q) in sub(&plan, &[(0..1).into(), (0..4).into(), (0..6).into()])
        .iter()
        .zip(alone_plan.iter())
    {
        assert!((p - q).abs() <= tol, "{p} vs {q}");
    }
}

/// Adding a constant to a cost row (or column) leaves the plan unchanged.
fn row_constant_invariant<B: TestBackend>(be: &B, tol: f64) {
    let (cost, a, b) = random_batch(3, &[(6, 7)]);
    let mut shifted = cost.clone();
    shifted
        .index_axis_mut(Axis(0), 0)
        .row_mut(2)
        .mapv_inplace(|c| c + 0.7);
    shifted
        .index_axis_mut(Axis(0), 0)
        .column_mut(4)
        .mapv_inplace(|c| c - 0.3);
    let solver = Sinkhorn::new(0.05).tol(tol * 1e-2).max_iter(5000);
    let p1 = be.mat_host(
        &solver
            .solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b))
            .expect("solve")
            .plan,
    );
    let p2 = be.mat_host(
        &solver
            .solve(be, &be.mat(&shifted), &be.vec(&a), &be.vec(&b))
            .expect("solve")
            .plan,
    );
    for (p, q) in p1.iter().zip(&p2) {
        assert!((p - q).abs() <= tol, "{p} vs {q}");
    }
}

/// Permuting the points permutes the plan.
fn permutation_equivariant<B: TestBackend>(be: &B, tol: f64) {
    let (cost, a, b) = random_batch(4, &[(5, 6)]);
    let pi = [3usize, 0, 4, 1, 2];
    let sigma = [5usize, 2, 0, 1, 4, 3];
    let pc = Array3::from_shape_fn((1, 5, 6), |(_, i, j)| cost[[0, pi[i], sigma[j]]]);
    let pa = Array2::from_shape_fn((1, 5), |(_, i)| a[[0, pi[i]]]);
    let pb = Array2::from_shape_fn((1, 6), |(_, j)| b[[0, sigma[j]]]);
    let solver = Sinkhorn::new(0.05).tol(tol * 1e-2).max_iter(5000);
    let p = be.mat_host(
        &solver
            .solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b))
            .expect("solve")
            .plan,
    );
    let q = be.mat_host(
        &solver
            .solve(be, &be.mat(&pc), &be.vec(&pa), &be.vec(&pb))
            .expect("solve")
            .plan,
    );
    for i in 0..5 {
        for j in 0..6 {
            assert!((q[[0, i, j]] - p[[0, pi[i], sigma[j]]]).abs() <= tol);
        }
    }
}

/// Non-finite or negative input is an error naming the argument and the index.
fn bad_input_is_named<B: TestBackend>(be: &B) {
    let (mut cost, a, mut b) = random_batch(5, &[(3, 4), (3, 4)]);
    cost[[1, 2, 3]] = f64::NAN;
    let err = Sinkhorn::new(0.1).solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b));
    match err {
        Err(Error::NonFinite {
            argument: "cost",
            index,
            ..
        }) => assert_eq!(index, vec![1, 2, 3]),
        other => panic!("expected NonFinite, got {:?}", other.err()),
    }
    cost[[1, 2, 3]] = 0.5;
    b[[0, 1]] = -0.1;
    let err = Sinkhorn::new(0.1).solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b));
    assert!(
        matches!(err, Err(Error::Negative { argument: "b", .. })),
        "{:?}",
        err.err()
    );
    let err = Sinkhorn::new(-1.0).solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&a));
    assert!(matches!(
        err,
        Err(Error::InvalidParameter { name: "eps", .. })
    ));
}

/// Kernel-space iterations agree with log-domain ones where they are stable, and report
/// divergence (never a silent zero plan) where `K` underflows.
fn kernel_agrees_or_reports<B: TestBackend>(be: &B, tol: f64) {
    let (cost, a, b) = random_batch(6, &[(6, 5), (4, 7)]);
    let (c, av, bv) = (be.mat(&cost), be.vec(&a), be.vec(&b));
    let solver = Sinkhorn::new(0.1).tol(tol * 1e-2).max_iter(5000);
    let log = be.mat_host(&solver.solve(be, &c, &av, &bv).expect("solve").plan);
    let ker = solver
        .clone()
        .method(Method::Kernel)
        .solve(be, &c, &av, &bv)
        .expect("solve");
    assert!(ker.converged());
    for (p, q) in log.iter().zip(&be.mat_host(&ker.plan)) {
        assert!((p - q).abs() <= tol);
    }
    let tiny = Sinkhorn::new(1e-4).method(Method::Kernel).max_iter(50);
    let out = tiny
        .solve(be, &be.mat(&cost.mapv(|x| x * 100.0)), &av, &bv)
        .expect("solve");
    assert!(
        out.status.iter().all(|s| *s != Status::Converged),
        "{:?}",
        out.status
    );
}

/// eps-scaling and warm starts reach the same plan; a warm start from the solution is immediate.
fn eps_scaling_and_warm_start<B: TestBackend>(be: &B, tol: f64) {
    let (cost, a, b) = random_batch(7, &[(10, 12)]);
    let (c, av, bv) = (be.mat(&cost), be.vec(&a), be.vec(&b));
    let solver = Sinkhorn::new(0.01).tol(tol * 1e-2).max_iter(20_000);
    let cold = solver.solve(be, &c, &av, &bv).expect("solve");
    let annealed = solver
        .clone()
        .eps_scaling(4, 4.0)
        .solve(be, &c, &av, &bv)
        .expect("solve");
    assert!(annealed.converged());
    for (p, q) in be
        .mat_host(&cold.plan)
        .iter()
        .zip(&be.mat_host(&annealed.plan))
    {
        assert!((p - q).abs() <= tol);
    }
    let init = Potentials {
        f: be.copy(&cold.f).expect("copy"),
        g: be.copy(&cold.g).expect("copy"),
    };
    let warm = solver
        .solve_from(be, &c, &av, &bv, Some(init))
        .expect("solve");
    assert!(warm.converged());
    assert!(
        warm.iterations[0] < cold.iterations[0],
        "{:?} vs {:?}",
        warm.iterations,
        cold.iterations
    );
}

/// Not converging is reported as `MaxIterReached` with the iterate, not a zero plan.
fn max_iter_reported<B: TestBackend>(be: &B) {
    let (cost, a, b) = random_batch(8, &[(20, 20)]);
    let out = Sinkhorn::new(1e-3)
        .max_iter(3)
        .tol(1e-12)
        .solve(be, &be.mat(&cost), &be.vec(&a), &be.vec(&b))
        .expect("solve");
    assert_eq!(out.status, vec![Status::MaxIterReached]);
    assert_eq!(out.iterations, vec![3]);
    let plan = be.mat_host(&out.plan);
    assert!(plan.iter().all(|p| p.is_finite()) && plan.sum() > 0.5);
}

/// Cost helpers agree with their definitions, on padded batches.
fn costs_match_definitions<B: TestBackend>(be: &B, tol: f64) {
    let (x, _, _) = random_batch(9, &[(4, 3), (4, 3)]);
    let (y, _, _) = random_batch(10, &[(5, 3), (5, 3)]);
    let mut x = x;
    x.index_axis_mut(Axis(0), 1).row_mut(3).fill(0.0); // a zero padding vector stays finite under cosine
    for kind in [CostKind::SqEuclidean, CostKind::Cosine, CostKind::Dot] {
        let c = be.mat_host(
            &be.pairwise_cost(&be.mat(&x), &be.mat(&y), kind)
                .expect("cost"),
        );
        for k in 0..2 {
            for i in 0..4 {
                for j in 0..5 {
                    let (xk, yk) = (x.index_axis(Axis(0), k), y.index_axis(Axis(0), k));
                    let (xi, yj) = (xk.row(i), yk.row(j));
                    let d = xi.dot(&yj);
                    let want = match kind {
                        CostKind::SqEuclidean => (&xi - &yj).mapv(|v| v * v).sum(),
                        CostKind::Cosine => {
                            1.0 - d / (xi.dot(&xi).sqrt().max(1e-8) * yj.dot(&yj).sqrt().max(1e-8))
                        }
                        CostKind::Dot => -d,
                    };
                    assert!((c[[k, i, j]] - want).abs() <= tol * 10.0, "{kind:?}");
                }
            }
        }
    }
}

/// The debiased divergence is ~0 between identical measures and positive otherwise.
fn divergence_debiased<B: TestBackend>(be: &B, tol: f64) {
    let (x, a, _) = random_batch(11, &[(6, 1)]);
    let (y, _, _) = random_batch(12, &[(6, 1)]);
    let y = y.mapv(|v| v + 0.5);
    let (xm, ym) = (be.mat(&x), be.mat(&y));
    let c = |p: &B::Mat, q: &B::Mat| be.pairwise_cost(p, q, CostKind::SqEuclidean).expect("cost");
    let solver = Sinkhorn::new(0.05).tol(tol * 1e-2).max_iter(5000);
    let av = be.vec(&a);
    let same = ot_core::sinkhorn_divergence(
        &solver,
        be,
        &c(&xm, &xm),
        &c(&xm, &xm),
        &c(&xm, &xm),
        &av,
        &be.vec(&a),
    )
    .expect("div");
    assert!(same[0].abs() <= tol * 10.0, "{same:?}");
    let diff = ot_core::sinkhorn_divergence(
        &solver,
        be,
        &c(&xm, &ym),
        &c(&xm, &xm),
        &c(&ym, &ym),
        &av,
        &be.vec(&a),
    )
    .expect("div");
    assert!(diff[0] > 0.1, "{diff:?}");
}

macro_rules! conformance {
    ($module:ident, $backend:expr, $tol:expr $(, available = $guard:expr)?) => {
        mod $module {
            #[test]
            fn marginals_hold() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::marginals_hold(&$backend, $tol)
            }
            #[test]
            fn padding_invariant() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::padding_invariant(&$backend, $tol)
            }
            #[test]
            fn row_constant_invariant() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::row_constant_invariant(&$backend, $tol)
            }
            #[test]
            fn permutation_equivariant() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::permutation_equivariant(&$backend, $tol)
            }
            #[test]
            fn bad_input_is_named() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::bad_input_is_named(&$backend)
            }
            #[test]
            fn kernel_agrees_or_reports() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::kernel_agrees_or_reports(&$backend, $tol)
            }
            #[test]
            fn eps_scaling_and_warm_start() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::eps_scaling_and_warm_start(&$backend, $tol)
            }
            #[test]
            fn max_iter_reported() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::max_iter_reported(&$backend)
            }
            #[test]
            fn costs_match_definitions() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::costs_match_definitions(&$backend, $tol)
            }
            #[test]
            fn divergence_debiased() {
                $(if !$guard { eprintln!("skipped: backend not available"); return; })?
                super::divergence_debiased(&$backend, $tol)
            }
        }
    };
}

conformance!(ndarray_f64, crate::common::nd64(), 1e-8);
conformance!(ndarray_f32, ot_core::NdArray::<f32>::new(), 2e-4);
#[cfg(feature = "tch")]
conformance!(
    tch_cpu_f64,
    ot_core::Tch::new(ot_core::tch::Device::Cpu, ot_core::tch::Kind::Double),
    1e-8
);
#[cfg(feature = "cuda-tests")]
conformance!(
    tch_cuda_f32,
    ot_core::Tch::new(ot_core::tch::Device::Cuda(0), ot_core::tch::Kind::Float),
    2e-4,
    available = ot_core::tch::Cuda::is_available()
);
