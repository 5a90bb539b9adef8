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
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
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

use ot_core::{Backend, NdArray, PairwiseCost};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A backend the conformance tests can feed from and read back to `f64` ndarrays.
pub trait TestBackend: Backend + PairwiseCost {
    /// Uploads a matrix batch.
    fn mat(&self, x: &Array3<f64>) -> Self::Mat;
    /// Uploads a vector batch.
    fn vec(&self, x: &Array2<f64>) -> Self::Vec;
    /// Downloads a matrix batch.
    fn mat_host(&self, x: &Self::Mat) -> Array3<f64>;
    /// Downloads a vector batch.
    fn vec_host(&self, x: &Self::Vec) -> Array2<f64>;
}

impl TestBackend for NdArray<f64> {
    fn mat(&self, x: &Array3<f64>) -> Array3<f64> {
        x.clone()
    }
    fn vec(&self, x: &Array2<f64>) -> Array2<f64> {
        x.clone()
    }
    fn mat_host(&self, x: &Array3<f64>) -> Array3<f64> {
        x.clone()
    }
    fn vec_host(&self, x: &Array2<f64>) -> Array2<f64> {
        x.clone()
    }
}

impl TestBackend for NdArray<f32> {
    fn mat(&self, x: &Array3<f64>) -> Array3<f32> {
        x.mapv(|v| v as f32)
    }
    fn vec(&self, x: &Array2<f64>) -> Array2<f32> {
        x.mapv(|v| v as f32)
    }
    fn mat_host(&self, x: &Array3<f32>) -> Array3<f64> {
        x.mapv(f64::from)
    }
    fn vec_host(&self, x: &Array2<f32>) -> Array2<f64> {
        x.mapv(f64::from)
    }
}

#[cfg(feature = "tch")]
impl TestBackend for ot_core::Tch {
    fn mat(&self, x: &Array3<f64>) -> ot_core::tch::Tensor {
        self.tensor(x).expect("upload")
    }
    fn vec(&self, x: &Array2<f64>) -> ot_core::tch::Tensor {
        self.tensor(x).expect("upload")
    }
    fn mat_host(&self, x: &ot_core::tch::Tensor) -> Array3<f64> {
        let s: Vec<usize> = x.size().iter().map(|&d| d as usize).collect();
        let v = ot_core::tch_ot::to_host(x).expect("host");
        Array3::from_shape_vec((s[0], s[1], s[2]), v).expect("shape")
    }
    fn vec_host(&self, x: &ot_core::tch::Tensor) -> Array2<f64> {
        let s: Vec<usize> = x.size().iter().map(|&d| d as usize).collect();
        let v = ot_core::tch_ot::to_host(x).expect("host");
        Array2::from_shape_vec((s[0], s[1]), v).expect("shape")
    }
}

/// ndarray f64 with a low threading threshold, so the rayon row-split paths run in tests too.
pub fn nd64() -> NdArray<f64> {
    let mut b = NdArray::new();
    b.parallel_threshold = 64;
    b
}

/// A random batch: costs in [0, 1), non-uniform marginals, problem k has lengths `lens[k]`
/// padded to the maximum (padding costs are random too, weights zero).
pub fn random_batch(seed: u64, lens: &[(usize, usize)]) -> (Array3<f64>, Array2<f64>, Array2<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let m = lens.iter().map(|l| l.0).max().expect("non-empty");
    let n = lens.iter().map(|l| l.1).max().expect("non-empty");
    let cost = Array3::from_shape_fn((lens.len(), m, n), |_| rng.random::<f64>());
    let mut a = Array2::zeros((lens.len(), m));
    let mut b = Array2::zeros((lens.len(), n));
    for (k, &(mk, nk)) in lens.iter().enumerate() {
        let wa: Vec<f64> = (0..mk).map(|_| rng.random_range(0.2..1.0)).collect();
        let wb: Vec<f64> = (0..nk).map(|_| rng.random_range(0.2..1.0)).collect();
        let (sa, sb): (f64, f64) = (wa.iter().sum(), wb.iter().sum());
        for i in 0..mk {
            a[[k, i]] = wa[i] / sa;
        }
        for j in 0..nk {
            b[[k, j]] = wb[j] / sb;
        }
    }
    (cost, a, b)
}

/// A copy of the sub-array selected by one [`Slice`] per axis (ndarray's `s!` expands to
/// `allow(unsafe_code)`, which the workspace forbids).
pub fn sub<A: Clone, D: ot_core::ndarray::Dimension>(
    x: &ot_core::ndarray::Array<A, D>,
    ranges: &[ot_core::ndarray::Slice],
) -> ot_core::ndarray::Array<A, D> {
    x.slice_each_axis(|ax| ranges[ax.axis.index()]).to_owned()
}
