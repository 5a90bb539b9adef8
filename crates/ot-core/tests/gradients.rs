//! Gradient modes of the tch backend against finite differences and PyTorch autograd.
#![cfg(feature = "tch")]

mod common;

use common::{fixture, floats, problem, random_batch, sub};
use ot_core::ndarray::{Array2, Array3};
use ot_core::tch::{Device, Kind, Tensor};
use ot_core::tch_ot::{Gradient, sinkhorn_loss, to_host};
use ot_core::{NdArray, Sinkhorn, Tch};

fn be() -> Tch {
    Tch::new(Device::Cpu, Kind::Double)
}

/// Gradient of the per-problem loss sum with respect to the cost, on the host.
fn grad_of(
    solver: &Sinkhorn,
    cost: &Array3<f64>,
    a: &Array2<f64>,
    b: &Array2<f64>,
    mode: Gradient,
) -> (Vec<f64>, Vec<f64>) {
    let c = be().tensor(cost).expect("up").set_requires_grad(true);
    let out = sinkhorn_loss(
        solver,
        &c,
        &be().tensor(a).expect("up"),
        &be().tensor(b).expect("up"),
        mode,
    )
    .expect("solve");
    out.loss.sum(Kind::Double).backward();
    (
        to_host(&c.grad()).expect("host"),
        to_host(&out.plan).expect("host"),
    )
}

/// Central finite differences of `value(cost)` (a host f64 solve at tight tolerance).
fn finite_diff(cost: &Array3<f64>, value: impl Fn(&Array3<f64>) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut out = Vec::new();
    for idx in ot_core::ndarray::indices(cost.raw_dim()) {
        let (mut up, mut down) = (cost.clone(), cost.clone());
        up[idx] += h;
        down[idx] -= h;
        out.push((value(&up) - value(&down)) / (2.0 * h));
    }
    out
}

fn assert_close(x: &[f64], y: &[f64], tol: f64, what: &str) {
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let err = x
        .iter()
        .zip(y)
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
        / scale;
    assert!(err <= tol, "{what}: relative error {err}");
}

#[test]
fn unrolled_matches_pytorch_autograd() {
    let case = &fixture("torch_grad.json")["unrolled"];
    let (cost, a, b) = problem(case);
    let iters = case["iters"].as_u64().expect("iters") as usize;
    let solver = Sinkhorn::new(case["eps"].as_f64().expect("eps"))
        .max_iter(iters)
        .tol(1e-300)
        .check_every(100_000);
    let (grad, plan) = grad_of(&solver, &cost, &a, &b, Gradient::Unrolled);
    assert_close(&plan, &floats(&case["plan"]), 1e-12, "plan");
    assert_close(&grad, &floats(&case["grad"]), 1e-10, "grad");
}

#[test]
fn detach_gradient_is_the_plan() {
    let (cost, a, b) = random_batch(21, &[(5, 4), (3, 4)]);
    let (grad, plan) = grad_of(
        &Sinkhorn::new(0.1).tol(1e-12),
        &cost,
        &a,
        &b,
        Gradient::Detach,
    );
    assert_close(&grad, &plan, 1e-14, "detach");
}

#[test]
fn envelope_matches_finite_differences_of_the_objective() {
    let (cost, a, b) = random_batch(22, &[(5, 4)]);
    let solver = Sinkhorn::new(0.1).tol(1e-14).max_iter(100_000);
    let (grad, _) = grad_of(&solver, &cost, &a, &b, Gradient::Envelope);
    let fd = finite_diff(&cost, |c| {
        solver
            .solve(&NdArray::<f64>::new(), c, &a, &b)
            .expect("solve")
            .objective[0]
    });
    assert_close(&grad, &fd, 1e-6, "envelope vs FD");
}

#[test]
fn implicit_matches_finite_differences_and_unrolled() {
    let (cost, a, b) = random_batch(23, &[(5, 4)]);
    let solver = Sinkhorn::new(0.1).tol(1e-14).max_iter(100_000);
    let (implicit, _) = grad_of(&solver, &cost, &a, &b, Gradient::Implicit);
    let fd = finite_diff(&cost, |c| {
        solver
            .solve(&NdArray::<f64>::new(), c, &a, &b)
            .expect("solve")
            .transport_cost[0]
    });
    assert_close(&implicit, &fd, 1e-6, "implicit vs FD");
    let unrolled_solver = Sinkhorn::new(0.1)
        .tol(1e-300)
        .max_iter(2000)
        .check_every(100_000);
    let (unrolled, _) = grad_of(&unrolled_solver, &cost, &a, &b, Gradient::Unrolled);
    assert_close(&implicit, &unrolled, 1e-8, "implicit vs unrolled");
}

#[test]
fn masked_batch_gradients_equal_the_unpadded_ones() {
    let (cost, a, b) = random_batch(24, &[(6, 5), (3, 4)]);
    let solver = Sinkhorn::new(0.1).tol(1e-13).max_iter(100_000);
    for mode in [Gradient::Detach, Gradient::Envelope, Gradient::Implicit] {
        let (grad, plan) = grad_of(&solver, &cost, &a, &b, mode);
        let grad = Array3::from_shape_vec((2, 6, 5), grad).expect("shape");
        let plan = Array3::from_shape_vec((2, 6, 5), plan).expect("shape");
        assert!(
            sub(&grad, &[(1..2).into(), (3..).into(), (..).into()])
                .iter()
                .all(|&g| g == 0.0),
            "{mode:?}"
        );
        assert!(
            sub(&grad, &[(1..2).into(), (..).into(), (4..).into()])
                .iter()
                .all(|&g| g == 0.0),
            "{mode:?}"
        );
        assert!(
            sub(&plan, &[(1..2).into(), (3..).into(), (..).into()])
                .iter()
                .all(|&p| p == 0.0)
        );
        let alone = sub(&cost, &[(1..2).into(), (0..3).into(), (0..4).into()]).to_owned();
        let (ga, _) = grad_of(
            &solver,
            &alone,
            &sub(&a, &[(1..2).into(), (0..3).into()]).to_owned(),
            &sub(&b, &[(1..2).into(), (0..4).into()]).to_owned(),
            mode,
        );
        let padded: Vec<f64> = sub(&grad, &[(1..2).into(), (0..3).into(), (0..4).into()])
            .iter()
            .copied()
            .collect();
        assert_close(&padded, &ga, 1e-8, "padded vs alone");
    }
}

#[test]
fn envelope_gradient_in_the_marginals_is_the_potential() {
    let (cost, a, b) = random_batch(25, &[(4, 3)]);
    let solver = Sinkhorn::new(0.2).tol(1e-13).max_iter(100_000);
    let av = be().tensor(&a).expect("up").set_requires_grad(true);
    let c = be().tensor(&cost).expect("up");
    let out = sinkhorn_loss(
        &solver,
        &c,
        &av,
        &be().tensor(&b).expect("up"),
        Gradient::Envelope,
    )
    .expect("solve");
    out.loss.sum(Kind::Double).backward();
    let grad = to_host(&av.grad()).expect("host");
    let f = to_host(&out.f).expect("host");
    assert_close(&grad, &f, 1e-12, "d/da = f");
    let _ = Tensor::zeros([1], (Kind::Double, Device::Cpu));
}
