//! The test binary finds libtorch through the RUNPATH that `build.rs` records, with no
//! `LD_LIBRARY_PATH`, and libtorch computes.

use tch::{Device, Kind, Tensor};

#[test]
fn libtorch_loads_and_computes_without_environment() {
    let a = Tensor::f_from_slice(&[1.0f64, 2.0, 3.0, 4.0])
        .unwrap()
        .f_reshape([2, 2])
        .unwrap();
    let b = a.f_matmul(&a).unwrap();
    let got: Vec<f64> = Vec::<f64>::try_from(b.f_flatten(0, -1).unwrap()).unwrap();
    assert_eq!(got, vec![7.0, 10.0, 15.0, 22.0]);
    assert_eq!(b.kind(), Kind::Double);
}

#[test]
fn device_detection_does_not_fail_without_a_gpu() {
    let device = Device::cuda_if_available();
    let t = Tensor::f_ones([3], (Kind::Float, device)).unwrap();
    assert_eq!(t.device(), device);
}
