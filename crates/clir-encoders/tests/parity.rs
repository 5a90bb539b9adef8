//! Parity with transformers on tiny seeded random BERT and XLM-R checkpoints (fixtures from
//! `scripts/fixtures_encoders.py`): hidden states, pooled vectors, gradients, one AdamW step,
//! original-era key names, sharded bf16 weights, errors, and the save round trip.

use std::{collections::HashMap, path::PathBuf};

use clir_encoders::{
    Encoder, Error, Freeze, Pooling, Schedule, TrainConfig, Trainer,
    tch::{self, Device, Kind, Tensor},
};

const TEXTS: [&str; 3] = [
    "the cat sat on the mat",
    "a dog",
    "über naïve café, the dog sat on a cat!",
];
const TOL: f64 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn reference(name: &str) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(fixture(name).join("reference.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

fn assert_close(what: &str, a: &Tensor, b: &Tensor, tol: f64) {
    let d = max_abs_diff(a, b);
    assert!(d <= tol, "{what}: max |diff| = {d:e} > {tol:e}");
}

/// Within `tol` after scaling by the reference's largest magnitude (at least 1): sums over every
/// token (the token-type row's gradient) are large, and fp32 summation order differs.
fn assert_close_scaled(what: &str, a: &Tensor, b: &Tensor, tol: f64) {
    let scale = b.abs().max().double_value(&[]).max(1.0);
    assert_close(what, a, b, tol * scale);
}

fn check_forward(name: &str, dir: &str) {
    let r = reference(name);
    let enc = Encoder::load(fixture(dir), Device::Cpu).unwrap();
    let batch = enc.tokenize(&TEXTS).unwrap();
    assert!(
        batch.ids.equal(&r["input_ids"].to_kind(Kind::Int64)),
        "{dir}: token ids"
    );
    let out = tch::no_grad(|| enc.forward(batch, false)).unwrap();
    assert_close(dir, &out.states, &r["hidden"], TOL);
    for (pooling, key) in [
        (Pooling::Mean, "pooled_mean"),
        (Pooling::Cls, "pooled_cls"),
        (Pooling::Max, "pooled_max"),
    ] {
        let p = pooling.pool(&out.states, &out.attention_mask).unwrap();
        assert_close(key, &p, &r[key], TOL);
    }
}

#[test]
fn bert_hidden_states_and_pooling_match_transformers() {
    check_forward("tiny-bert", "tiny-bert");
}

#[test]
fn xlmr_hidden_states_and_pooling_match_transformers() {
    check_forward("tiny-xlmr", "tiny-xlmr");
}

#[test]
fn original_era_names_and_pytorch_bin_load() {
    check_forward("tiny-bert", "tiny-bert-legacy");
    check_forward("tiny-xlmr", "tiny-xlmr-legacy");
}

#[test]
fn sharded_bf16_weights_load() {
    let r = reference("tiny-bert");
    let enc = Encoder::load(fixture("tiny-bert-sharded-bf16"), Device::Cpu).unwrap();
    let out = tch::no_grad(|| enc.encode(&TEXTS, false)).unwrap();
    // bf16 keeps 8 bits of mantissa: states agree to a few hundredths.
    assert_close("bf16", &out.states, &r["hidden"], 0.1);
}

fn check_gradients_and_step(name: &str) {
    let r = reference(name);
    let enc = Encoder::load(fixture(name), Device::Cpu).unwrap();
    let mut trainer = Trainer::new(
        enc.var_store(),
        TrainConfig::default()
            .lr(1e-3)
            .weight_decay(0.01)
            .schedule(Schedule::Constant)
            .max_grad_norm(Some(1.0)),
    )
    .unwrap();
    let out = enc.encode(&TEXTS, false).unwrap();
    let loss =
        (&out.states * &r["loss_weights"]).sum(Kind::Float) + out.pooled.square().sum(Kind::Float);
    assert_close("loss", &loss.reshape([1]), &r["loss"], 1e-4);
    loss.backward();
    let vars = enc.var_store().variables();
    let mut checked = 0;
    for (key, want) in &r {
        if let Some(name) = key.strip_prefix("grad.") {
            if name.starts_with("pooler.") {
                continue;
            }
            assert_close_scaled(key, &vars[name].grad(), want, TOL);
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} gradients compared");
    // The gradients are in place; one AdamW step on them.
    let loss = Tensor::zeros([], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    trainer.backward_step(&loss.sum(Kind::Float)).unwrap();
    for (key, want) in &r {
        if let Some(name) = key.strip_prefix("after.") {
            assert_close(key, &vars[name], want, TOL);
        }
    }
}

#[test]
fn bert_gradients_and_adamw_step_match_pytorch() {
    check_gradients_and_step("tiny-bert");
}

#[test]
fn xlmr_gradients_and_adamw_step_match_pytorch() {
    check_gradients_and_step("tiny-xlmr");
}

#[test]
fn content_mask_and_offsets_skip_specials_and_prefix() {
    let enc = Encoder::load(fixture("tiny-xlmr"), Device::Cpu)
        .unwrap()
        .prefix("a dog ");
    let b = enc.tokenize(&["the cat", "über"]).unwrap();
    let content = Vec::<f32>::try_from(b.content_mask.get(0)).unwrap();
    let attn = Vec::<f32>::try_from(b.attention_mask.get(0)).unwrap();
    let ids = &b.token_ids[0];
    assert_eq!(attn.iter().sum::<f32>() as usize, ids.len());
    // <s>, the prefix pieces and </s> are not content; "▁the" "▁cat" are.
    let content_offsets: Vec<(usize, usize)> = b.offsets[0]
        .iter()
        .zip(&content)
        .filter(|(_, c)| **c > 0.0)
        .map(|(o, _)| *o)
        .collect();
    assert_eq!(content_offsets, vec![(0, 3), (3, 7)]);
    assert!(content[0] < 0.5, "<s> is not content");
}

#[test]
fn max_len_truncates_and_padding_is_per_batch() {
    let enc = Encoder::load(fixture("tiny-bert"), Device::Cpu)
        .unwrap()
        .max_len(5);
    let b = enc
        .tokenize(&["the cat sat on the mat the cat", "a"])
        .unwrap();
    assert_eq!(b.ids.size(), [2, 5]); // not the file's fixed 24
    let row = Vec::<i64>::try_from(b.ids.get(0)).unwrap();
    assert_eq!((row[0], row[4]), (2, 3)); // [CLS] ... [SEP] kept
    let enc = enc.max_len(512); // clamped to the position table
    assert_eq!(enc.options().max_len, 64);
}

#[test]
fn embed_sorts_by_length_and_keeps_input_order() {
    let enc = Encoder::load(fixture("tiny-bert"), Device::Cpu)
        .unwrap()
        .normalize(true);
    let texts = ["a", "the cat sat on the mat", "a dog", "cat"];
    let mut calls = 0;
    let all = enc.embed(&texts, 2, |_| calls += 1).unwrap();
    assert_eq!(calls, 2);
    for (i, t) in texts.iter().enumerate() {
        let one = tch::no_grad(|| enc.encode(&[t], false)).unwrap().pooled;
        assert_close(t, &all.get(i as i64), &one.get(0), 1e-5);
    }
}

#[test]
fn missing_and_misshaped_tensors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("tiny-bert");
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let tensors: Vec<(String, Tensor)> =
        Tensor::read_safetensors(src.join("model.safetensors")).unwrap();
    let drop: Vec<(String, Tensor)> = tensors
        .iter()
        .filter(|(k, _)| k != "encoder.layer.1.output.dense.bias")
        .map(|(k, t)| (k.clone(), t.shallow_clone()))
        .collect();
    let file = dir.path().join("model.safetensors");
    Tensor::write_safetensors(&drop, &file).unwrap();
    match Encoder::load(dir.path(), Device::Cpu) {
        Err(Error::MissingTensor { name, path }) => {
            assert_eq!(name, "encoder.layer.1.output.dense.bias");
            assert_eq!(path, file);
        }
        other => panic!("expected MissingTensor, got {other:?}"),
    }
    let bad: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| {
            let t = if k == "embeddings.LayerNorm.weight" {
                Tensor::ones([7], (Kind::Float, Device::Cpu))
            } else {
                t.shallow_clone()
            };
            (k.clone(), t)
        })
        .collect();
    Tensor::write_safetensors(&bad, &file).unwrap();
    let err = Encoder::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(
        matches!(&err, Error::TensorShape { name, found, .. } if name == "embeddings.LayerNorm.weight" && found == &[7]),
        "{err}"
    );
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(
        Encoder::load(dir.path(), Device::Cpu),
        Err(Error::NoWeights { .. })
    ));
}

#[test]
fn save_round_trip_with_frozen_parts_and_projection() {
    clir_encoders::seed(7);
    let mut enc = Encoder::load(fixture("tiny-xlmr"), Device::Cpu).unwrap();
    enc.add_projection(8).unwrap();
    enc.freeze(Freeze {
        embeddings: true,
        layers_below: 1,
    })
    .unwrap();
    let before = enc.var_store().variables()["embeddings.word_embeddings.weight"].copy();
    let mut trainer = Trainer::new(
        enc.var_store(),
        TrainConfig::default()
            .lr(1e-2)
            .accumulation(2)
            .warmup_steps(1)
            .total_steps(4),
    )
    .unwrap();
    assert!(
        trainer
            .parameter_names()
            .all(|n| !n.starts_with("embeddings.") && !n.starts_with("encoder.layer.0."))
    );
    for step in 0..4 {
        let out = enc.encode(&TEXTS, true).unwrap();
        let report = trainer
            .backward_step(&out.pooled.square().mean(Kind::Float))
            .unwrap();
        assert_eq!(report.stepped, step % 2 == 1);
    }
    assert_eq!(trainer.step(), 2);
    let vars = enc.var_store().variables();
    assert!(vars["embeddings.word_embeddings.weight"].equal(&before));
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("student");
    enc.save(&saved).unwrap();
    let again = Encoder::load(&saved, Device::Cpu).unwrap();
    assert_eq!(again.dim(), 8);
    let a = tch::no_grad(|| enc.encode(&TEXTS, false)).unwrap();
    let b = tch::no_grad(|| again.encode(&TEXTS, false)).unwrap();
    assert_close("round trip", &a.states, &b.states, 0.0);
    assert_close("round trip pooled", &a.pooled, &b.pooled, 0.0);
    // transformers reads what was saved and gives the same states (when the reference
    // environment is installed).
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let ids = Tensor::from_slice(
        &a.token_ids[1]
            .iter()
            .map(|t| t.0 as i64)
            .collect::<Vec<_>>(),
    );
    let ids_file = dir.path().join("ids.txt");
    std::fs::write(
        &ids_file,
        Vec::<i64>::try_from(&ids)
            .unwrap()
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(" "),
    )
    .unwrap();
    let out_file = dir.path().join("hf.safetensors");
    let code = r#"
import sys, os
os.environ["HF_HUB_OFFLINE"] = "1"
try:
    import torch
    from transformers import AutoModel
    from safetensors.torch import save_file
except ImportError:
    sys.exit(3)
m = AutoModel.from_pretrained(sys.argv[1]).eval()
ids = torch.tensor([[int(x) for x in open(sys.argv[2]).read().split()]])
with torch.no_grad():
    h = m(input_ids=ids).last_hidden_state[0].contiguous()
save_file({"hidden": h}, sys.argv[3])
"#;
    if !python.exists() {
        eprintln!("skipping the transformers check: no .venv/bin/python");
        return;
    }
    let status = std::process::Command::new(&python)
        .arg("-c")
        .arg(code)
        .arg(&saved)
        .arg(&ids_file)
        .arg(&out_file)
        .status()
        .unwrap();
    if status.code() == Some(3) {
        eprintln!("skipping the transformers check: transformers not installed");
        return;
    }
    assert!(status.success());
    let hf: HashMap<String, Tensor> = Tensor::read_safetensors(&out_file)
        .unwrap()
        .into_iter()
        .collect();
    let n = a.token_ids[1].len() as i64;
    let ours = a.states.get(1).narrow(0, 0, n);
    assert_close(
        "transformers reads the saved folder",
        &ours,
        &hf["hidden"],
        TOL,
    );
}
