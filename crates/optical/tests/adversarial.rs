//! The adversarial building blocks of `optical::distil` on the committed tiny random BERT
//! (clir-encoders' fixture) with a fixed batch and dropout off: the FGM perturbation has norm ε
//! per sequence and raises the loss by its first-order amount, PGD stays inside the ball and
//! raises it at least as much as its first step, and the gradient-reversal layer reverses.
//! Whole adversarial training runs (and their resuming) are tested in `tests/distil.rs`.

use std::path::PathBuf;

use optical::clir_encoders::tch::{self, Device, Kind, Tensor};
use optical::clir_encoders::{Encoder, Freeze, TokenBatch};
use optical::distil::adversarial::{fgm_delta, gradient_reversal, pgd_delta};
use optical::distil::loss::sentence_loss;

const TEXTS: [&str; 4] = [
    "de kot sed na mata",
    "un pes",
    "psy koty sedi na de mata un kot",
    "de pes sed",
];

fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clir-encoders/tests/fixtures/tiny-bert")
}

/// The student (frozen word table, as by default), a batch, its embeddings and random teacher
/// sentence vectors to distil towards.
fn setup() -> (Encoder, TokenBatch, Tensor, Tensor) {
    let mut student = Encoder::load(tiny_model(), Device::Cpu)
        .unwrap()
        .normalize(true);
    student
        .freeze(Freeze {
            embeddings: true,
            layers_below: 0,
        })
        .unwrap();
    let batch = student.tokenize(&TEXTS).unwrap();
    let embeds = student.embed_inputs(&batch).unwrap();
    tch::manual_seed(11);
    let teacher = Tensor::randn(
        [TEXTS.len() as i64, student.dim()],
        (Kind::Float, Device::Cpu),
    );
    let teacher = &teacher / teacher.norm_scalaropt_dim(2, [-1i64].as_slice(), true);
    (student, batch, embeds, teacher)
}

fn loss_at(student: &Encoder, batch: &TokenBatch, embeds: &Tensor, teacher: &Tensor) -> Tensor {
    let out = student.forward_embeds(batch, embeds, false).unwrap();
    sentence_loss(&out.pooled, teacher).unwrap()
}

/// Per-sequence L2 norms of `[B, L, d]`.
fn norms(x: &Tensor) -> Vec<f64> {
    let n = x
        .square()
        .sum_dim_intlist([1i64, 2].as_slice(), false, Kind::Double)
        .sqrt();
    Vec::<f64>::try_from(n).unwrap()
}

/// The clean loss and its gradient with respect to the embeddings (through a zero leaf, as
/// training does: the frozen table gives no gradient itself).
fn clean_gradient(
    student: &Encoder,
    batch: &TokenBatch,
    embeds: &Tensor,
    teacher: &Tensor,
) -> (f64, Tensor) {
    assert!(!embeds.requires_grad());
    let zero = embeds.zeros_like().set_requires_grad(true);
    let clean = loss_at(student, batch, &(embeds + &zero), teacher);
    let grad = Tensor::run_backward(&[&clean], &[&zero], false, false).remove(0);
    (clean.double_value(&[]), grad)
}

#[test]
fn fgm_has_norm_epsilon_and_raises_the_loss_to_first_order() {
    let (student, batch, embeds, teacher) = setup();
    let (clean, grad) = clean_gradient(&student, &batch, &embeds, &teacher);
    let grad_norms = norms(&grad);
    assert!(grad_norms.iter().all(|&n| n > 0.0));
    for eps in [1e-3, 1e-2] {
        let delta = fgm_delta(&grad, &batch.attention_mask, eps).unwrap();
        for n in norms(&delta) {
            approx::assert_relative_eq!(n, eps, max_relative = 1e-4);
        }
        let perturbed = loss_at(&student, &batch, &(&embeds + &delta), &teacher).double_value(&[]);
        // First order: L(E + δ) − L(E) ≈ <g, δ> = ε Σ_b ‖g_b‖ > 0.
        let predicted: f64 = eps * grad_norms.iter().sum::<f64>();
        let gain = perturbed - clean;
        assert!(gain > 0.0, "eps {eps}: the loss fell by {gain}");
        assert!(
            (gain / predicted - 1.0).abs() < 0.2,
            "eps {eps}: gain {gain}, first-order prediction {predicted}"
        );
        // The opposite direction lowers it.
        let opposite = loss_at(&student, &batch, &(&embeds - &delta), &teacher).double_value(&[]);
        assert!(opposite < clean);
    }
}

#[test]
fn pgd_stays_inside_the_ball_and_climbs_at_least_as_high_as_its_first_step() {
    let (student, batch, embeds, teacher) = setup();
    let (clean, grad) = clean_gradient(&student, &batch, &embeds, &teacher);
    let eps = 0.05;
    let first = fgm_delta(&grad, &batch.attention_mask, eps).unwrap();
    let first_loss = loss_at(&student, &batch, &(&embeds + &first), &teacher).double_value(&[]);
    for (alpha, steps) in [(0.02, 5), (0.05, 3), (0.2, 4)] {
        let mut evaluations = 0;
        let delta = pgd_delta(&grad, &batch.attention_mask, eps, alpha, steps, |d| {
            evaluations += 1;
            Ok(loss_at(&student, &batch, &(&embeds + d), &teacher))
        })
        .unwrap();
        assert_eq!(
            evaluations,
            steps - 1,
            "the first step reuses the clean gradient"
        );
        for n in norms(&delta) {
            assert!(n <= eps * (1.0 + 1e-5), "alpha {alpha}: norm {n} > {eps}");
        }
        // Padding stays unperturbed.
        let pad = batch
            .attention_mask
            .eq(0.0)
            .unsqueeze(-1)
            .to_kind(Kind::Float);
        assert!((&delta * pad).abs().max().double_value(&[]) < 1e-12);
        let loss = loss_at(&student, &batch, &(&embeds + &delta), &teacher).double_value(&[]);
        assert!(loss > clean, "alpha {alpha}: {loss} <= {clean}");
        if alpha >= eps {
            // Steps that reach the sphere each time: never worse than FGM to first order.
            assert!(
                loss >= first_loss - 1e-6,
                "alpha {alpha}: {loss} < {first_loss}"
            );
        }
    }
}

#[test]
fn gradient_reversal_reverses_the_gradient_of_a_model_output() {
    let (student, batch, embeds, teacher) = setup();
    let leaf = embeds.detach().set_requires_grad(true);
    let pooled = student.forward_embeds(&batch, &leaf, false).unwrap().pooled;
    let plain = sentence_loss(&pooled, &teacher).unwrap();
    let g_plain = Tensor::run_backward(&[&plain], &[&leaf], true, false).remove(0);
    let reversed = sentence_loss(&gradient_reversal(&pooled, 0.5).unwrap(), &teacher).unwrap();
    assert!(reversed.equal(&plain), "identity forward");
    let g_rev = Tensor::run_backward(&[&reversed], &[&leaf], false, false).remove(0);
    let diff = (&g_rev + &g_plain * 0.5).abs().max().double_value(&[]);
    let scale = g_plain.abs().max().double_value(&[]);
    assert!(scale > 0.0 && diff <= 1e-5 * scale, "{diff} vs {scale}");
}
