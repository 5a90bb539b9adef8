//! Statistics end to end: counting through a tokenizer, every measure's cost block in [0, 1],
//! batches with masks, atomic save/load with tokenizer identity checks, alignments.

mod common;

use std::io::Write;

use cooc::{
    AlignMethod, CoocStats, CostTable, CountOptions, Error, Measure, Model1Params, SentencePair,
    SrcTokenId, TgtTokenId, Tokenizer, WordOptions, align::align,
};

fn pairs(v: &[(&str, &str)]) -> impl Iterator<Item = cooc::Result<SentencePair>> {
    v.iter()
        .enumerate()
        .map(|(i, (s, t))| {
            Ok(SentencePair {
                src: s.to_string(),
                tgt: t.to_string(),
                line: i as u64 + 1,
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
}

const TOY: &[(&str, &str)] = &[
    ("the house is small", "das haus ist klein"),
    ("the house is big", "das haus ist groß"),
    ("a small cat", "eine kleine katze"),
    ("the cat is small", "die katze ist klein"),
    ("a big house", "ein großes haus"),
];

fn toy_stats() -> CoocStats {
    CoocStats::builder(Tokenizer::word(WordOptions::default()))
        .model1(Some(Model1Params::default().iterations(8)))
        .count(pairs(TOY))
        .unwrap()
}

#[test]
fn every_measure_gives_costs_in_unit_interval() {
    let stats = toy_stats();
    let tok = stats.tokenizer();
    let src = tok.encode_src("the small house unseenword").unwrap();
    let tgt = tok.encode_tgt("das kleine haus").unwrap();
    assert_eq!(src[3], SrcTokenId::UNKNOWN);
    for m in Measure::ALL {
        for k in [0.0, 0.5] {
            let table = CostTable::new(&stats, m, k).unwrap();
            let block = table.cost_block(&src, &tgt);
            assert!(block.iter().all(|c| (0.0..=1.0).contains(c)), "{m}");
            assert!(
                block.row(3).iter().all(|&c| c >= 1.0),
                "unseen word costs 1 ({m})"
            );
            // house ↔ haus is a cheapest cell of the house row (PMI ties it with das).
            let row = block.row(2);
            assert!(row.iter().all(|&c| row[2] <= c), "{m}: {row}");
        }
    }
    assert!(CostTable::new(&stats, Measure::Dice, -1.0).is_err());
}

#[test]
fn batch_matches_single_blocks() {
    let stats = toy_stats();
    let table = CostTable::new(&stats, Measure::Npmi, 0.0).unwrap();
    let tok = stats.tokenizer();
    let s: Vec<Vec<SrcTokenId>> = TOY.iter().map(|p| tok.encode_src(p.0).unwrap()).collect();
    let t: Vec<Vec<TgtTokenId>> = TOY.iter().map(|p| tok.encode_tgt(p.1).unwrap()).collect();
    let batch: Vec<(&[SrcTokenId], &[TgtTokenId])> = s
        .iter()
        .zip(&t)
        .map(|(a, b)| (a.as_slice(), b.as_slice()))
        .collect();
    let out = table.cost_batch(&batch);
    let (b, m, n) = out.cost.dim();
    assert_eq!((b, m, n), (5, 4, 4));
    for (k, (a, c)) in batch.iter().enumerate() {
        let single = table.cost_block(a, c);
        for i in 0..m {
            for j in 0..n {
                let v = out.cost[[k, i, j]];
                if i < a.len() && j < c.len() {
                    assert!((v - single[[i, j]]).abs() <= 0.0, "{k} {i} {j}");
                    assert_eq!(table.cost(a[i], c[j]).to_bits(), v.to_bits());
                } else {
                    assert!(v >= 1.0);
                }
            }
            assert_eq!(out.src_mask[[k, i]], i < a.len());
        }
    }
}

#[test]
fn save_load_roundtrip_and_identity_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toy.cooc");
    let stats = toy_stats();
    stats.save(&path).unwrap();
    let back = CoocStats::load(&path, None).unwrap();
    assert_eq!(back.table(), stats.table());
    assert_eq!(back.model1(), stats.model1());
    let w = back.tokenizer().encode_src("house").unwrap();
    assert_eq!(w, stats.tokenizer().encode_src("house").unwrap());
    // No temp file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // Corruption is detected.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let bad = dir.path().join("bad.cooc");
    std::fs::write(&bad, &bytes).unwrap();
    assert!(matches!(
        CoocStats::load(&bad, None),
        Err(Error::Format { .. })
    ));
    std::fs::write(&bad, b"not a stats file at all").unwrap();
    assert!(matches!(
        CoocStats::load(&bad, None),
        Err(Error::Format { .. })
    ));

    // A subword tokenizer offered to word-mode statistics is a mismatch.
    if let Some(tj) = common::minilm_tokenizer() {
        assert!(matches!(
            CoocStats::load(&path, Some(&tj)),
            Err(Error::TokenizerMismatch { .. })
        ));
    }
}

#[test]
fn subword_mode_uses_tokenizer_ids_and_checks_identity() {
    let Some(tj) = common::minilm_tokenizer() else {
        return;
    };
    let tok = Tokenizer::load(&tj).unwrap();
    let ids = tok.encode_src("[CLS] unbelievable houses [SEP]").unwrap();
    // Special tokens never appear; ids are the tokenizer's own.
    let reference = tokenizers::Tokenizer::from_file(&tj).unwrap();
    let special: Vec<u32> = ["[CLS]", "[SEP]", "[PAD]"]
        .iter()
        .map(|t| reference.token_to_id(t).unwrap())
        .collect();
    assert!(ids.iter().all(|i| !special.contains(&i.0)));
    let mut reference = reference;
    reference.with_padding(None);
    let enc = reference.encode("unbelievable houses", false).unwrap();
    assert_eq!(ids.iter().map(|i| i.0).collect::<Vec<_>>(), enc.get_ids());

    let stats = CoocStats::builder(tok)
        .options(CountOptions::default())
        .count(pairs(TOY))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub.cooc");
    stats.save(&path).unwrap();
    let back = CoocStats::load(&path, Some(&tj)).unwrap();
    assert_eq!(back.table(), stats.table());
    assert!(matches!(
        CoocStats::load(&path, None),
        Err(Error::TokenizerMismatch { .. })
    ));
    // Another tokenizer.json (one byte different) is refused.
    let mut bytes = std::fs::read(&tj).unwrap();
    let other = dir.path().join("tokenizer.json");
    bytes.push(b'\n');
    std::fs::File::create(&other)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    assert!(matches!(
        CoocStats::load(&path, Some(&other)),
        Err(Error::TokenizerMismatch { .. })
    ));
}

#[test]
fn alignments_recover_the_diagonal_of_a_toy_corpus() {
    let stats = toy_stats();
    let table = CostTable::new(&stats, Measure::Dice, 0.0).unwrap();
    let tok = stats.tokenizer();
    let s = tok.encode_src("the house is small").unwrap();
    let t = tok.encode_tgt("das haus ist klein").unwrap();
    let block = table.cost_block(&s, &t);
    let a = align(&block, AlignMethod::CompetitiveLinking { max_cost: 1.0 });
    assert!(a.0.contains(&(1, 1)) && a.0.contains(&(3, 3)), "{a}");
    let b = align(&block, AlignMethod::ArgmaxIntersection);
    assert!(b.0.contains(&(1, 1)), "{b}");
}

#[cfg(feature = "tch")]
#[test]
fn tch_batch_matches_ndarray_batch() {
    let stats = toy_stats();
    let table = CostTable::new(&stats, Measure::Dice, 0.0).unwrap();
    let tok = stats.tokenizer();
    let s: Vec<Vec<SrcTokenId>> = TOY.iter().map(|p| tok.encode_src(p.0).unwrap()).collect();
    let t: Vec<Vec<TgtTokenId>> = TOY.iter().map(|p| tok.encode_tgt(p.1).unwrap()).collect();
    let mut batch: Vec<(&[SrcTokenId], &[TgtTokenId])> = s
        .iter()
        .zip(&t)
        .map(|(a, b)| (a.as_slice(), b.as_slice()))
        .collect();
    batch[2].0 = &batch[2].0[..1];
    let nd = table.cost_batch(&batch);
    let th = table.cost_batch_tensor(&batch, tch::Device::Cpu).unwrap();
    let (b, m, n) = nd.cost.dim();
    assert_eq!(th.cost.size(), [b as i64, m as i64, n as i64]);
    assert_eq!(th.cost.kind(), tch::Kind::Float);
    assert_eq!(th.src_mask.kind(), tch::Kind::Bool);
    let flat: Vec<f32> = Vec::try_from(th.cost.flatten(0, -1)).unwrap();
    assert_eq!(flat, nd.cost.iter().copied().collect::<Vec<_>>());
    let mask: Vec<bool> = Vec::try_from(th.src_mask.flatten(0, -1)).unwrap();
    assert_eq!(mask, nd.src_mask.iter().copied().collect::<Vec<_>>());
}

#[test]
fn a_read_error_after_several_chunks_is_returned() {
    // Chunks of two: three chunks reach the counting thread before the bad line is read.
    for bad in [1, 7] {
        let input = (1..=10u64).map(move |line| {
            if line == bad {
                return Err(Error::Parse {
                    path: "src.txt".into(),
                    line,
                    reason: "not UTF-8".into(),
                });
            }
            Ok(SentencePair {
                src: format!("w{line} x"),
                tgt: format!("v{line} y"),
                line,
            })
        });
        let err = CoocStats::builder(Tokenizer::word(WordOptions::default()))
            .options(CountOptions {
                chunk_size: 2,
                ..CountOptions::default()
            })
            .count(input)
            .unwrap_err();
        assert!(
            matches!(err, Error::Parse { line, .. } if line == bad),
            "{err}"
        );
    }
}
