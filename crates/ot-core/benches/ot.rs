//! Criterion benches of ot-core: `cargo bench -p ot-core [--features tch]`.
//!
//! Every solve runs exactly 100 iterations (`tol` unreachable, one check at the end) on fresh
//! random costs in [0, 1) with random non-uniform marginals.

use criterion::{Criterion, criterion_group, criterion_main};
use ot_core::ndarray::{Array2, Array3};
use ot_core::{Method, NdArray, Sinkhorn};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn problem(batch: usize, m: usize, n: usize) -> (Array3<f32>, Array2<f32>, Array2<f32>) {
    let mut rng = StdRng::seed_from_u64(7);
    let cost = Array3::from_shape_fn((batch, m, n), |_| rng.random::<f32>());
    let mut w = |len: usize| {
        let mut x = Array2::from_shape_fn((batch, len), |_| rng.random_range(0.5f32..1.0));
        for mut row in x.rows_mut() {
            let s = row.sum();
            row /= s;
        }
        x
    };
    let (a, b) = (w(m), w(n));
    (cost, a, b)
}

fn fixed_100(method: Method) -> Sinkhorn {
    Sinkhorn::new(0.05)
        .max_iter(100)
        .tol(1e-30)
        .check_every(100)
        .method(method)
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("ndarray_f32");
    group.sample_size(10);
    let be = NdArray::<f32>::new();
    let (cost, a, b) = problem(1, 512, 512);
    group.bench_function("sinkhorn_log/n=512", |bench| {
        bench.iter(|| {
            fixed_100(Method::Log)
                .solve(&be, &cost, &a, &b)
                .expect("solve")
        })
    });
    let (cost, a, b) = problem(256, 32, 32);
    group.bench_function("sinkhorn_log/batch=256x32x32", |bench| {
        bench.iter(|| {
            fixed_100(Method::Log)
                .solve(&be, &cost, &a, &b)
                .expect("solve")
        })
    });
    let (cost, a, b) = problem(1, 2048, 2048);
    group.bench_function("sinkhorn_kernel/n=2048", |bench| {
        bench.iter(|| {
            fixed_100(Method::Kernel)
                .solve(&be, &cost, &a, &b)
                .expect("solve")
        })
    });
    group.finish();

    #[cfg(feature = "tch")]
    {
        use ot_core::Tch;
        use ot_core::tch::{Device, Kind};
        let device = Device::cuda_if_available();
        let name = if device.is_cuda() {
            "tch_cuda_f32"
        } else {
            "tch_cpu_f32"
        };
        let be = Tch::new(device, Kind::Float);
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for (batch, m) in [(1usize, 512usize), (256, 32), (4096, 32)] {
            let (cost, a, b) = problem(batch, m, m);
            let up3 = be.tensor(&cost.mapv(f64::from)).expect("upload");
            let up_a = be.tensor(&a.mapv(f64::from)).expect("upload");
            let up_b = be.tensor(&b.mapv(f64::from)).expect("upload");
            group.bench_function(format!("sinkhorn_log/batch={batch}x{m}x{m}"), |bench| {
                bench.iter(|| {
                    let out = ot_core::tch::no_grad(|| {
                        fixed_100(Method::Log).solve(&be, &up3, &up_a, &up_b)
                    })
                    .expect("solve");
                    // Reading the statistics back synchronises the device.
                    out.transport_cost[0]
                })
            });
        }
        group.finish();
    }
}

criterion_group!(ot, benches);
criterion_main!(ot);
