//! Forward and training-step timings of a BERT encoder on tch (CPU unless CUDA is visible).
//!
//! `BENCH_MODEL` (default `models/all-MiniLM-L6-v2`) and `BENCH_THREADS` (default: libtorch's)
//! choose the model and the intra-op threads; `scripts/bench_encoders.py` runs this next to
//! transformers on the same thread count and prints the ratios.
use std::{hint::black_box, path::PathBuf};

use clir_encoders::{
    Encoder, TokenBatch, TrainConfig, Trainer,
    tch::{self, Device, Kind, Tensor},
};
use criterion::{Criterion, criterion_group, criterion_main};

const BATCH: i64 = 32;
const LEN: i64 = 128;

fn random_batch(vocab: i64, device: Device) -> TokenBatch {
    let ids = Tensor::randint_low(5, vocab, [BATCH, LEN], (Kind::Int64, device));
    let _ = ids.select(1, 0).fill_(0);
    let ones = Tensor::ones([BATCH, LEN], (Kind::Float, device));
    TokenBatch {
        ids,
        attention_mask: ones.shallow_clone(),
        content_mask: ones,
        token_ids: vec![],
        offsets: vec![],
    }
}

fn batch_clone(b: &TokenBatch) -> TokenBatch {
    TokenBatch {
        ids: b.ids.shallow_clone(),
        attention_mask: b.attention_mask.shallow_clone(),
        content_mask: b.content_mask.shallow_clone(),
        token_ids: vec![],
        offsets: vec![],
    }
}

fn bench(c: &mut Criterion) {
    if let Some(n) = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        tch::set_num_threads(n);
    }
    let model = std::env::var("BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2")
        });
    if !model.join("config.json").exists() {
        eprintln!(
            "bench encoders: {} not installed; skipping",
            model.display()
        );
        return;
    }
    let device = Device::cuda_if_available();
    let backend = if device.is_cuda() {
        "tch_cuda"
    } else {
        "tch_cpu"
    };
    tch::manual_seed(0);
    let enc = Encoder::load(&model, device).expect("model loads");
    let batch = random_batch(enc.config().vocab_size, device);
    let mut g = c.benchmark_group(backend);
    g.sample_size(10);
    g.bench_function(format!("forward/b={BATCH},l={LEN}"), |b| {
        b.iter(|| {
            let out = tch::no_grad(|| enc.forward(batch_clone(&batch), false)).unwrap();
            if device.is_cuda() {
                tch::Cuda::synchronize(0);
            }
            let _ = black_box(out.pooled);
        })
    });
    let mut trainer = Trainer::new(enc.var_store(), TrainConfig::default().lr(1e-5)).unwrap();
    g.bench_function(format!("train_step/b={BATCH},l={LEN}"), |b| {
        b.iter(|| {
            let out = enc.forward(batch_clone(&batch), true).unwrap();
            let loss = out.pooled.square().mean(Kind::Float);
            black_box(trainer.backward_step(&loss).unwrap());
            if device.is_cuda() {
                tch::Cuda::synchronize(0);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
