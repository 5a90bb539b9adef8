//! Distillation end to end on the committed tiny random BERT (clir-encoders' fixture) and a
//! synthetic bitext: every method trains, an interrupted and resumed run ends with exactly the
//! weights of an uninterrupted one, finished runs are cached, and a data root is read. The run
//! on the real e5-small and Hausa bitext is skipped with a message when they are absent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use optical::clir_encoders::tch::Tensor;
use optical::data::bitext::{BitextPair, Source};
use optical::distil::{
    AdversaryInput, CostKind, DistilConfig, DistilReport, EmbeddingAdversary, GradientMode,
    LanguageAdversary, LossCost, Marginals, Method, OtLoss, PerturbKind, RunOptions, distil,
    distil_pairs,
};
use rand::{Rng, SeedableRng};

/// libtorch's random generator (dropout) is process-global: trainings running at the same time
/// in one process draw from it in an interleaved order and are not reproducible, so the tests
/// here train one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clir-encoders/tests/fixtures/tiny-bert")
}

/// English sentences over the tiny vocabulary and their word-by-word "translation" into a
/// made-up language spelled with letters the vocabulary covers (so it splits into pieces).
fn synthetic_pairs(n: usize, seed: u64) -> Vec<BitextPair> {
    const DICT: [(&str, &str); 10] = [
        ("the", "de"),
        ("cat", "kot"),
        ("sat", "sed"),
        ("on", "na"),
        ("mat", "mata"),
        ("a", "un"),
        ("dog", "pes"),
        ("dogs", "psy"),
        ("cats", "koty"),
        ("sitting", "sedi"),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let len = rng.random_range(3..8);
            let words: Vec<(&str, &str)> = (0..len)
                .map(|_| DICT[rng.random_range(0..DICT.len())])
                .collect();
            BitextPair {
                lrl: words.iter().map(|w| w.1).collect::<Vec<_>>().join(" "),
                en: words.iter().map(|w| w.0).collect::<Vec<_>>().join(" "),
                source: Source::FloresDev,
            }
        })
        .collect()
}

fn tiny_config(method: Method) -> DistilConfig {
    let mut cfg = DistilConfig {
        lang: "tst".into(),
        teacher: tiny_model(),
        method,
        ..DistilConfig::default()
    };
    cfg.train.batch_size = 8;
    cfg.train.epochs = 2;
    cfg.train.lr = 1e-3;
    cfg.train.checkpoint_every = 2;
    cfg.train.max_len = 32;
    cfg
}

fn options(cache: &Path) -> RunOptions {
    RunOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..RunOptions::default()
    }
}

fn weights(report: &DistilReport) -> Vec<(String, Tensor)> {
    let mut w = Tensor::read_safetensors(report.student_dir.join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn max_abs_diff(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|((na, ta), (nb, tb))| {
            assert_eq!(na, nb);
            (ta - tb).abs().max().double_value(&[])
        })
        .fold(0.0, f64::max)
}

#[test]
fn interrupted_and_resumed_run_matches_uninterrupted() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = synthetic_pairs(40, 1);
    let cfg = tiny_config(Method::Optical); // 5 steps per epoch, 10 in all, checkpoints at 2, 4, …
    let opts = options(&tmp.path().join("cache"));

    let whole = distil_pairs(&cfg, &pairs, &tmp.path().join("whole"), &opts).unwrap();
    assert!(whole.complete);
    assert_eq!(whole.steps, 10);
    assert!(!whole.teacher_cache_hit);

    let out = tmp.path().join("interrupted");
    let stop = RunOptions {
        stop_after_steps: Some(5),
        ..opts.clone()
    };
    let part = distil_pairs(&cfg, &pairs, &out, &stop).unwrap();
    assert!(!part.complete);
    assert!(
        part.teacher_cache_hit,
        "the teacher cache is shared between runs"
    );
    assert!(out.join("checkpoint/state.json").is_file());
    assert!(!out.join("record.json").exists());

    let resumed = RunOptions {
        resume: true,
        ..opts.clone()
    };
    let rest = distil_pairs(&cfg, &pairs, &out, &resumed).unwrap();
    assert!(rest.complete);
    assert_eq!(
        rest.resumed_from,
        Some(4),
        "step 5 is redone from the step-4 checkpoint"
    );
    assert_eq!(rest.losses, whole.losses);
    let diff = max_abs_diff(&weights(&whole), &weights(&rest));
    assert!(diff <= 1e-6, "resumed weights differ by {diff}");
    assert!(
        !out.join("checkpoint").exists(),
        "checkpoint removed after success"
    );
    assert!(out.join("record.json").is_file());

    // The weights moved at all (the comparison above is not trivially true).
    let init = Tensor::read_safetensors(tiny_model().join("model.safetensors")).unwrap();
    let name = "encoder.layer.1.output.dense.weight";
    let get = |w: &[(String, Tensor)]| {
        w.iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.shallow_clone())
            .unwrap()
    };
    let moved = (get(&weights(&whole)) - get(&init))
        .abs()
        .max()
        .double_value(&[]);
    assert!(moved > 1e-5, "training did not change {name}");
}

/// `cfg` with PGD on the embeddings and a token-level language discriminator (both terms on, so
/// that both histories and the discriminator's state must survive a resume).
fn adversarial(mut cfg: DistilConfig) -> DistilConfig {
    cfg.adversarial.embedding = Some(EmbeddingAdversary {
        kind: PerturbKind::Pgd,
        epsilon: 0.05,
        weight: 1.0,
        steps: Some(2),
        alpha: None,
    });
    cfg.adversarial.language = Some(LanguageAdversary {
        weight: 0.1,
        lambda: 1.0,
        on: AdversaryInput::Token,
        hidden: 16,
        lr: Some(1e-3),
    });
    cfg
}

#[test]
fn interrupted_and_resumed_adversarial_run_matches_uninterrupted() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = synthetic_pairs(40, 1);
    let cfg = adversarial(tiny_config(Method::Optical));
    cfg.check().unwrap();
    let opts = options(&tmp.path().join("cache"));

    let whole = distil_pairs(&cfg, &pairs, &tmp.path().join("whole"), &opts).unwrap();
    assert_eq!(whole.steps, 10);
    let adv = whole.adversarial.clone().expect("adversarial report");
    assert_eq!(adv.discriminator_accuracies.len(), 10);
    assert!(adv.perturbation_gain.is_some_and(f64::is_finite));

    let out = tmp.path().join("interrupted");
    let stop = RunOptions {
        stop_after_steps: Some(5),
        ..opts.clone()
    };
    distil_pairs(&cfg, &pairs, &out, &stop).unwrap();
    assert!(out.join("checkpoint/discriminator.safetensors").is_file());
    assert!(
        out.join("checkpoint/discriminator_optimizer.safetensors")
            .is_file()
    );
    let resumed = RunOptions {
        resume: true,
        ..opts.clone()
    };
    let rest = distil_pairs(&cfg, &pairs, &out, &resumed).unwrap();
    assert_eq!(rest.resumed_from, Some(4));
    assert_eq!(rest.losses, whole.losses);
    assert_eq!(
        rest.adversarial, whole.adversarial,
        "same diagnostics, bit for bit"
    );
    let diff = max_abs_diff(&weights(&whole), &weights(&rest));
    assert!(diff <= 1e-6, "resumed weights differ by {diff}");

    // The same run without the adversarial terms trains differently.
    let plain = distil_pairs(
        &tiny_config(Method::Optical),
        &pairs,
        &tmp.path().join("plain"),
        &opts,
    )
    .unwrap();
    assert!(plain.adversarial.is_none());
    assert_ne!(plain.losses, whole.losses);
}

#[test]
fn every_method_trains_with_each_adversarial_term() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = synthetic_pairs(32, 6);
    let opts = options(&tmp.path().join("cache"));
    for method in [
        Method::Optical,
        Method::SentenceKd,
        Method::TokenKd,
        Method::InfoNce,
    ] {
        let fgm = EmbeddingAdversary {
            epsilon: 0.05,
            ..EmbeddingAdversary::default()
        };
        for (term, on) in [
            ("fgm", None),
            ("lang-sentence", Some(AdversaryInput::Sentence)),
            ("lang-token", Some(AdversaryInput::Token)),
        ] {
            let mut cfg = tiny_config(method);
            cfg.train.checkpoint_every = 1000;
            match on {
                None => cfg.adversarial.embedding = Some(fgm.clone()),
                Some(on) => {
                    cfg.adversarial.language = Some(LanguageAdversary {
                        on,
                        hidden: 8,
                        ..LanguageAdversary::default()
                    });
                }
            }
            cfg.check().unwrap();
            let name = format!("{}-{term}", method.name());
            let r = distil_pairs(&cfg, &pairs, &tmp.path().join(&name), &opts)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.steps, 8, "{name}");
            assert!(
                r.losses.iter().all(|l| l.is_finite()),
                "{name}: {:?}",
                r.losses
            );
            let adv = r.adversarial.expect("adversarial report");
            match on {
                None => {
                    assert!(adv.perturbation_gain.is_some_and(f64::is_finite), "{name}");
                    assert!(adv.discriminator_accuracy.is_none());
                }
                Some(_) => {
                    assert!(adv.perturbation_gain.is_none());
                    let acc = adv.discriminator_accuracy.expect("accuracy");
                    assert!((0.0..=1.0).contains(&acc), "{name}: {acc}");
                    assert_eq!(adv.discriminator_accuracies.len(), 8);
                    assert!(
                        adv.discriminator_accuracies
                            .iter()
                            .all(|a| (0.0..=1.0).contains(a))
                    );
                    assert!(
                        adv.discriminator_loss
                            .is_some_and(|l| l.is_finite() && l > 0.0)
                    );
                }
            }
            eprintln!(
                "{name}: loss {:.4} -> {:.4}, gain {:?}, discriminator accuracy {:?}",
                r.first_loss, r.final_loss, adv.perturbation_gain, adv.discriminator_accuracy
            );
        }
    }
}

#[test]
fn a_finished_run_is_returned_from_its_record() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = synthetic_pairs(16, 2);
    let mut cfg = tiny_config(Method::SentenceKd);
    cfg.train.epochs = 1;
    let opts = options(&tmp.path().join("cache"));
    let out = tmp.path().join("run");
    let first = distil_pairs(&cfg, &pairs, &out, &opts).unwrap();
    let again = distil_pairs(&cfg, &pairs, &out, &opts).unwrap();
    // Read back from record.json (JSON floats round-trip to the last bit or so).
    assert!((first.wall_s - again.wall_s).abs() < 1e-9, "trained again");
    assert_eq!(first.steps, again.steps);
    assert!(
        first
            .losses
            .iter()
            .zip(&again.losses)
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("record.json")).unwrap()).unwrap();
    assert_eq!(record["fingerprint"], cfg.fingerprint());
    assert_eq!(record["seed"], 0);
    // Another configuration in the same folder trains again.
    cfg.train.seed = 7;
    let other = distil_pairs(&cfg, &pairs, &out, &opts).unwrap();
    assert_ne!(other.losses, first.losses);
}

fn variants() -> Vec<(&'static str, DistilConfig)> {
    let mut v = vec![
        ("sentence-kd", tiny_config(Method::SentenceKd)),
        ("token-kd", tiny_config(Method::TokenKd)),
        ("infonce", tiny_config(Method::InfoNce)),
        ("optical", tiny_config(Method::Optical)),
    ];
    let mut paper = tiny_config(Method::Optical);
    paper.optical.cost = CostKind::Cooc;
    paper.optical.loss_cost = LossCost::Embedding;
    v.push(("optical-paper", paper));
    let mut bary = tiny_config(Method::Optical);
    bary.optical.loss = OtLoss::Barycentric;
    bary.optical.marginals = Marginals::Idf;
    bary.optical.sentence_weight = 0.5;
    v.push(("optical-barycentric-idf", bary));
    for (name, g) in [
        ("optical-envelope", GradientMode::Envelope),
        ("optical-unrolled", GradientMode::Unrolled),
        ("optical-implicit", GradientMode::Implicit),
    ] {
        let mut c = tiny_config(Method::Optical);
        c.optical.cost = CostKind::Embedding;
        c.optical.gradient = g;
        v.push((name, c));
    }
    let mut unbalanced = tiny_config(Method::Optical);
    unbalanced.optical.reg_m = Some(1.0);
    v.push(("optical-unbalanced", unbalanced));
    v
}

#[test]
fn every_method_and_variant_trains_and_lowers_its_loss() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = synthetic_pairs(48, 3);
    let opts = options(&tmp.path().join("cache"));
    for (name, mut cfg) in variants() {
        cfg.train.epochs = 4;
        cfg.train.checkpoint_every = 1000;
        cfg.check().unwrap();
        let r = distil_pairs(&cfg, &pairs, &tmp.path().join(name), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.steps, 24, "{name}");
        assert!(
            r.losses.iter().all(|l| l.is_finite()),
            "{name}: {:?}",
            r.losses
        );
        assert!(
            r.final_loss < r.first_loss,
            "{name}: loss {} -> {}",
            r.first_loss,
            r.final_loss
        );
        let ot = cfg.method == Method::Optical;
        assert_eq!(
            r.sinkhorn_share > 0.0,
            ot,
            "{name}: share {}",
            r.sinkhorn_share
        );
        assert!(r.sinkhorn_share < 1.0);
        assert!(r.pairs_per_s > 0.0 && r.peak_rss_mb > 0.0);
        eprintln!(
            "{name}: loss {:.4} -> {:.4}, {:.0} pairs/s, sinkhorn {:.1}%",
            r.first_loss,
            r.final_loss,
            r.pairs_per_s,
            100.0 * r.sinkhorn_share
        );
    }
}

fn gz(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    for l in lines {
        writeln!(e, "{l}").unwrap();
    }
    e.finish().unwrap();
}

#[test]
fn distil_reads_the_bitext_of_a_language_under_a_data_root() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let pairs = synthetic_pairs(30, 4);
    let dir = root.join("bitext/lafand/en-tst");
    gz(
        &dir.join("train.tst.gz"),
        &pairs.iter().map(|p| p.lrl.clone()).collect::<Vec<_>>(),
    );
    gz(
        &dir.join("train.en.gz"),
        &pairs.iter().map(|p| p.en.clone()).collect::<Vec<_>>(),
    );
    let mut cfg = tiny_config(Method::TokenKd);
    cfg.bitext.budget = 12;
    cfg.train.epochs = 1;
    let out = tmp.path().join("runs/tst");
    let r = distil(&cfg, &root, &out, &RunOptions::default()).unwrap();
    assert_eq!(r.pairs, 12);
    assert_eq!(r.steps, 2);
    assert!(out.join("student/model.safetensors").is_file());
    assert!(
        tmp.path().join("runs/cache/teacher").is_dir(),
        "default cache beside the run"
    );

    let mut missing = cfg.clone();
    missing.lang = "zzz".into();
    assert!(
        distil(
            &missing,
            &root,
            &tmp.path().join("runs/zzz"),
            &RunOptions::default()
        )
        .is_err()
    );
}

#[test]
fn resuming_with_another_configuration_is_refused() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = synthetic_pairs(40, 5);
    let cfg = tiny_config(Method::InfoNce);
    let opts = RunOptions {
        stop_after_steps: Some(3),
        ..options(&tmp.path().join("cache"))
    };
    let out = tmp.path().join("run");
    distil_pairs(&cfg, &pairs, &out, &opts).unwrap();
    let mut other = cfg.clone();
    other.train.lr = 5e-4;
    let resume = RunOptions {
        resume: true,
        ..options(&tmp.path().join("cache"))
    };
    let err = distil_pairs(&other, &pairs, &out, &resume).unwrap_err();
    assert!(matches!(err, optical::Error::Resume { .. }), "{err}");
}

#[test]
fn committed_configs_parse_and_check() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/distil");
    let mut methods = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let cfg =
                DistilConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            cfg.check()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            methods.push(cfg.method);
        }
    }
    for m in [
        Method::Optical,
        Method::SentenceKd,
        Method::TokenKd,
        Method::InfoNce,
    ] {
        assert!(methods.contains(&m), "no config for {}", m.name());
    }
    let paper = DistilConfig::load(&dir.join("optical-paper.toml")).unwrap();
    assert_eq!(paper.optical.cost, CostKind::Cooc);
    assert_eq!(paper.optical.loss_cost, LossCost::Embedding);
    assert!(matches!(
        DistilConfig::load(&dir.join("absent.toml")),
        Err(optical::Error::Io { .. })
    ));
}

#[test]
fn real_e5_small_distils_hausa() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = root.join("models/multilingual-e5-small");
    let data = root.join("../shared/data");
    if !model.join("config.json").exists() || !data.join("bitext").is_dir() {
        eprintln!(
            "skipping: needs {} (make setup) and {}",
            model.display(),
            data.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = DistilConfig {
        lang: "hau".into(),
        teacher: model,
        ..DistilConfig::default()
    };
    cfg.bitext.budget = 24;
    cfg.train.batch_size = 8;
    let r = distil(&cfg, &data, &tmp.path().join("hau"), &RunOptions::default()).unwrap();
    assert_eq!(r.steps, 3);
    assert!(r.losses.iter().all(|l| l.is_finite()));
    assert!(r.sinkhorn_share > 0.0 && r.sinkhorn_share < 0.5);
}
