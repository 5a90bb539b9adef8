//! The cooc bench target: counting (sentence and diagonal windows) and cost-block lookup (one
//! 64 × 64 block and a padded batch of 32), on a random Zipf-like corpus (fresh random data,
//! not constants).

use std::hint::black_box;

use cooc::{
    CoocStats, CoocTable, CostTable, CountOptions, Measure, SrcTokenId, TgtTokenId, Tokenizer,
    Window, WordOptions,
};
use criterion::{Criterion, criterion_group, criterion_main};

/// xorshift64*: a tiny deterministic generator, enough for synthetic token ids.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Zipf-ish id in `0..v` (inverse of a power law).
    fn zipf(&mut self, v: u32) -> u32 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((f64::from(v)).powf(u) - 1.0) as u32
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let corpus: Vec<(Vec<u32>, Vec<u32>)> = (0..20_000)
        .map(|_| {
            let m = 10 + (rng.next() % 40) as usize;
            let n = 10 + (rng.next() % 40) as usize;
            (
                (0..m).map(|_| rng.zipf(30_000)).collect(),
                (0..n).map(|_| rng.zipf(30_000)).collect(),
            )
        })
        .collect();
    let mut group = c.benchmark_group("cpu");
    group.sample_size(10);
    for (name, window) in [
        ("sentence", Window::Sentence),
        ("diagonal_0.2", Window::Diagonal { width: 0.2 }),
    ] {
        let options = CountOptions {
            window,
            ..CountOptions::default()
        };
        group.bench_function(format!("count_{name}/pairs={}", corpus.len()), |b| {
            b.iter(|| CoocTable::from_pairs(black_box(&corpus), &options).unwrap())
        });
    }
    group.finish();
    let table = CoocTable::from_pairs(&corpus, &CountOptions::default()).unwrap();
    let stats = CoocStats::new(Tokenizer::word(WordOptions::default()), table, None);
    let costs = CostTable::new(&stats, Measure::Dice, 0.0).unwrap();
    let draw = |rng: &mut Rng, len: usize| -> (Vec<SrcTokenId>, Vec<TgtTokenId>) {
        (
            (0..len).map(|_| SrcTokenId(rng.zipf(30_000))).collect(),
            (0..len).map(|_| TgtTokenId(rng.zipf(30_000))).collect(),
        )
    };
    let (s, t) = draw(&mut rng, 64);
    c.bench_function(
        &format!("ndarray_f32/cost_block/64x64/nnz={}", stats.table().nnz()),
        |b| b.iter(|| costs.cost_block(black_box(&s), black_box(&t))),
    );
    let batch: Vec<_> = (0..32).map(|_| draw(&mut rng, 64)).collect();
    let refs: Vec<(&[SrcTokenId], &[TgtTokenId])> = batch
        .iter()
        .map(|(a, b)| (a.as_slice(), b.as_slice()))
        .collect();
    c.bench_function("ndarray_f32/cost_batch/32x64x64", |b| {
        b.iter(|| costs.cost_batch(black_box(&refs)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
