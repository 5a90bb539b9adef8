//! Timing driver of `scripts/bench_ot.py`: reads float32 `cost.npy` (`[m, n]` or `[B, m, n]`),
//! `a.npy`, `b.npy`, runs exactly `iters` Sinkhorn iterations and prints
//! `{"seconds": ..., "transport_cost": ...}`.
//!
//! `cargo run --release -p ot-core --example ot_timing -- DIR log|kernel ITERS`

use ot_core::ndarray::{Array2, Array3, ArrayD, Axis, Ix2, Ix3};
use ot_core::{Method, NdArray, Sinkhorn};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(&args[1]);
    let method = if args[2] == "kernel" {
        Method::Kernel
    } else {
        Method::Log
    };
    let iters: usize = args[3].parse().expect("ITERS");
    let read = |name: &str| -> ArrayD<f32> {
        ndarray_npy::read_npy(dir.join(name)).expect("float32 .npy")
    };
    let (mut cost, mut a, mut b) = (read("cost.npy"), read("a.npy"), read("b.npy"));
    if cost.ndim() == 2 {
        cost = cost.insert_axis(Axis(0));
        a = a.insert_axis(Axis(0));
        b = b.insert_axis(Axis(0));
    }
    let cost: Array3<f32> = cost.into_dimensionality::<Ix3>().expect("3-D");
    let (a, b): (Array2<f32>, Array2<f32>) = (
        a.into_dimensionality::<Ix2>().expect("2-D"),
        b.into_dimensionality::<Ix2>().expect("2-D"),
    );
    let solver = Sinkhorn::new(0.05)
        .max_iter(iters)
        .tol(1e-30)
        .check_every(iters)
        .method(method);
    let start = std::time::Instant::now();
    let out = solver
        .solve(&NdArray::<f32>::new(), &cost, &a, &b)
        .expect("solve");
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"seconds\": {seconds}, \"transport_cost\": {}}}",
        out.transport_cost[0]
    );
}
