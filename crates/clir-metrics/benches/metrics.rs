//! Reading and evaluating TREC runs: parsing run and qrels text, evaluating six measures, and
//! both end to end, on fresh random data shaped like the bench script's (1,000 documents per
//! query with three-decimal scores, so ties occur; ~100 graded judgements per query of which
//! half are retrieved). `scripts/bench_metrics.py` compares the whole program with trec_eval
//! and pytrec_eval.

use std::fmt::Write as _;
use std::hint::black_box;

use clir_metrics::{Evaluator, Measure, Qrels, Run, Source};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DOCS_PER_QUERY: usize = 1_000;

/// Run and qrels text for `queries` queries.
fn problem(queries: usize, seed: u64) -> (String, String) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut run, mut qrels) = (String::new(), String::new());
    for q in 0..queries {
        let docs: Vec<u64> = (0..DOCS_PER_QUERY as u64)
            .map(|i| i * 5_000 + rng.random_range(0..5_000))
            .collect();
        for (rank, d) in docs.iter().enumerate() {
            let score = (rng.random_range(1.0..19.0f64) * 1000.0).round() / 1000.0;
            let _ = writeln!(run, "q{q} Q0 D{d} {} {score:.3} bench", rank + 1);
        }
        for (i, d) in docs.iter().enumerate().filter(|(i, _)| i % 20 == 0) {
            let _ = writeln!(qrels, "q{q} 0 D{d} {}", rng.random_range(0..4) * (i % 3));
            let _ = writeln!(qrels, "q{q} 0 J{i} {}", rng.random_range(0..3));
        }
    }
    (run, qrels)
}

fn bench(c: &mut Criterion) {
    let queries = 300;
    let (run_text, qrels_text) = problem(queries, 7);
    let measures = Measure::parse_specs(&[
        "map",
        "ndcg",
        "ndcg_cut.10",
        "P.10",
        "recall.100",
        "recip_rank",
    ])
    .unwrap();
    let evaluator = Evaluator::new(measures);
    let qrels = Qrels::parse(qrels_text.as_bytes(), Source::Memory).unwrap();
    let run = Run::parse(run_text.as_bytes(), Source::Memory).unwrap();

    let mut g = c.benchmark_group("clir_metrics");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(run_text.len() as u64));
    g.bench_function(format!("parse_run/q={queries}"), |b| {
        b.iter(|| Run::parse(black_box(run_text.as_bytes()), Source::Memory).unwrap())
    });
    g.throughput(Throughput::Bytes(qrels_text.len() as u64));
    g.bench_function(format!("parse_qrels/q={queries}"), |b| {
        b.iter(|| Qrels::parse(black_box(qrels_text.as_bytes()), Source::Memory).unwrap())
    });
    g.throughput(Throughput::Elements(queries as u64));
    g.bench_function(format!("evaluate_6_measures/q={queries}"), |b| {
        b.iter(|| {
            evaluator
                .evaluate(black_box(&qrels), black_box(&run))
                .unwrap()
        })
    });
    g.bench_function(format!("end_to_end_6_measures/q={queries}"), |b| {
        b.iter(|| {
            let qrels = Qrels::parse(qrels_text.as_bytes(), Source::Memory).unwrap();
            let run = Run::parse(run_text.as_bytes(), Source::Memory).unwrap();
            evaluator
                .evaluate(&qrels, &run)
                .unwrap()
                .to_trec_eval(false, true)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
