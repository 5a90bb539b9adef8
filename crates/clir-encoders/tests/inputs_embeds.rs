//! The `inputs_embeds` path (`Encoder::embed_inputs` + `Encoder::forward_embeds`) on the tiny
//! seeded BERT and XLM-R fixtures: the word embeddings plus a zero delta reproduce the normal
//! forward bit for bit, a non-zero delta moves the output, the gradient with respect to the
//! embeddings exists with a frozen word table, and a wrong shape is refused.

use std::path::PathBuf;

use clir_encoders::{
    Encoder, Error, Freeze,
    tch::{self, Device, Kind, Tensor},
};

const TEXTS: [&str; 3] = [
    "the cat sat on the mat",
    "a dog",
    "über naïve café, the dog sat on a cat!",
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn zero_delta_reproduces_forward_exactly() {
    for name in ["tiny-bert", "tiny-xlmr"] {
        let encoder = Encoder::load(fixture(name), Device::Cpu).unwrap();
        let batch = encoder.tokenize(&TEXTS).unwrap();
        let embeds = encoder.embed_inputs(&batch).unwrap();
        let (b, l) = batch.ids.size2().unwrap();
        assert_eq!(embeds.size(), [b, l, encoder.config().hidden_size]);
        let zero = Tensor::zeros_like(&embeds);
        let via_embeds =
            tch::no_grad(|| encoder.forward_embeds(&batch, &(&embeds + &zero), false)).unwrap();
        let plain =
            tch::no_grad(|| encoder.forward(encoder.tokenize(&TEXTS).unwrap(), false)).unwrap();
        assert!(
            via_embeds.states.equal(&plain.states),
            "{name}: states differ"
        );
        assert!(
            via_embeds.pooled.equal(&plain.pooled),
            "{name}: pooled differ"
        );
        assert!(via_embeds.content_mask.equal(&plain.content_mask));
        assert_eq!(via_embeds.token_ids, plain.token_ids);

        tch::manual_seed(7);
        let delta = Tensor::randn(embeds.size(), (Kind::Float, Device::Cpu)) * 0.1;
        let moved =
            tch::no_grad(|| encoder.forward_embeds(&batch, &(&embeds + &delta), false)).unwrap();
        assert!(max_abs(&moved.states, &plain.states) > 1e-4, "{name}");
    }
}

#[test]
fn gradient_reaches_the_embeddings_of_a_frozen_table() {
    let mut encoder = Encoder::load(fixture("tiny-bert"), Device::Cpu).unwrap();
    encoder
        .freeze(Freeze {
            embeddings: true,
            layers_below: 0,
        })
        .unwrap();
    let batch = encoder.tokenize(&TEXTS).unwrap();
    let embeds = encoder.embed_inputs(&batch).unwrap();
    assert!(!embeds.requires_grad(), "the frozen table gives constants");
    let delta = Tensor::zeros_like(&embeds).set_requires_grad(true);
    let out = encoder
        .forward_embeds(&batch, &(&embeds + &delta), false)
        .unwrap();
    let loss = out.pooled.square().sum(Kind::Float);
    let grad = Tensor::run_backward(&[&loss], &[&delta], false, false);
    let g = &grad[0];
    assert_eq!(g.size(), embeds.size());
    assert!(g.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    // Padding positions do not take part (row 1 is the shortest text).
    let pad = batch.attention_mask.get(1).eq(0.0).nonzero();
    assert!(pad.size()[0] > 0);
    let pos = pad.get(0).int64_value(&[0]);
    assert!(g.get(1).get(pos).abs().max().double_value(&[]) < 1e-12);
}

#[test]
fn wrong_embedding_shape_is_refused() {
    let encoder = Encoder::load(fixture("tiny-bert"), Device::Cpu).unwrap();
    let batch = encoder.tokenize(&TEXTS).unwrap();
    let (b, l) = batch.ids.size2().unwrap();
    let bad = Tensor::zeros(
        [b, l + 1, encoder.config().hidden_size],
        (Kind::Float, Device::Cpu),
    );
    assert!(matches!(
        encoder.forward_embeds(&batch, &bad, false),
        Err(Error::InvalidInput { .. })
    ));
}
