//! Token-level agreement of OT plans with co-occurrence links, on the tiny random BERT: when both
//! sides of every pair are the same sentence, the plan of an encoder against itself and the
//! competitive linking of Dice counted on that bitext must both be the identity alignment.

use std::path::PathBuf;

use optical::align::{AlignConfig, TokenAgreement, soft_align, token_agreement};
use optical::clir_encoders::Encoder;
use optical::clir_encoders::tch::Device;
use optical::cooc::{Alignment, CoocStats, CostTable, Measure, SentencePair, Tokenizer};

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clir-encoders/tests/fixtures/tiny-bert")
}

/// Sentences of the tiny vocabulary without a repeated token.
const SENTENCES: [&str; 6] = [
    "the cat sat on a mat",
    "a dog sat on the mat",
    "the dogs sitting on a mat",
    "cats sat",
    "a dog",
    "the cat, the dog!",
];

fn identity_costs() -> CostTable {
    let tokenizer = Tokenizer::load(tiny().join("tokenizer.json")).unwrap();
    let pairs = SENTENCES.iter().enumerate().map(|(i, s)| {
        Ok(SentencePair {
            src: (*s).to_owned(),
            tgt: (*s).to_owned(),
            line: i as u64 + 1,
        })
    });
    let stats = CoocStats::builder(tokenizer).count(pairs).unwrap();
    CostTable::new(&stats, Measure::Dice, 0.0).unwrap()
}

#[test]
fn agreement_counts_links() {
    let plan: Alignment = "0-0 1-1 2-2".parse().unwrap();
    let reference: Alignment = "0-0 1-2".parse().unwrap();
    let a = TokenAgreement::between(&plan, &reference).unwrap();
    assert!((a.precision - 1.0 / 3.0).abs() < 1e-12, "{a:?}");
    assert!((a.recall - 0.5).abs() < 1e-12, "{a:?}");
    assert!((a.aer - (1.0 - 2.0 / 5.0)).abs() < 1e-12, "{a:?}");
    assert_eq!((a.plan_links, a.reference_links), (3, 2));
    let none = TokenAgreement::between(&Alignment::default(), &Alignment::default()).unwrap();
    assert!((none.aer - 1.0).abs() < 1e-12, "{none:?}");
}

#[test]
fn identical_sides_agree_on_the_identity() {
    let encoder = Encoder::load(tiny(), Device::Cpu).unwrap();
    let costs = identity_costs();
    let pairs: Vec<(&str, &str)> = SENTENCES.iter().map(|s| (*s, *s)).collect();
    // Chunks of 4 exercise the batching (6 pairs: one full chunk and one partial).
    let agreement = token_agreement(
        &encoder,
        &encoder,
        &costs,
        &pairs,
        &AlignConfig::default(),
        4,
    )
    .unwrap();
    assert_eq!(agreement.len(), SENTENCES.len());
    let aligned = soft_align(&encoder, &encoder, None, &pairs, &AlignConfig::default()).unwrap();
    for ((a, al), s) in agreement.iter().zip(&aligned).zip(SENTENCES) {
        let m = al.src_ids.len();
        assert_eq!(al.src_ids, al.tgt_ids, "{s}");
        assert!(m > 0, "{s}");
        assert_eq!((a.plan_links, a.reference_links), (m, m), "{s}: {a:?}");
        assert!(a.aer.abs() < 1e-12, "{s}: {a:?}");
    }
}

#[test]
fn a_scrambled_bitext_disagrees() {
    let encoder = Encoder::load(tiny(), Device::Cpu).unwrap();
    let costs = identity_costs();
    // Pair each sentence with another one: the plan still links the tokens the two sentences
    // share, but the co-occurrence links of different sentences are no longer an identity.
    let pairs: Vec<(&str, &str)> = (0..SENTENCES.len())
        .map(|k| (SENTENCES[k], SENTENCES[(k + 1) % SENTENCES.len()]))
        .collect();
    let agreement = token_agreement(
        &encoder,
        &encoder,
        &costs,
        &pairs,
        &AlignConfig::default(),
        8,
    )
    .unwrap();
    let mean = agreement.iter().map(|a| a.aer).sum::<f64>() / agreement.len() as f64;
    assert!(mean > 0.05, "mean AER {mean}: {agreement:?}");
    assert!(agreement.iter().all(|a| (0.0..=1.0).contains(&a.aer)));
}
