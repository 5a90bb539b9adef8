//! A whole grid end to end on the real AfriQA-R files with the tiny random BERT as teacher and
//! student: every kind of row runs, records are written, a second run computes nothing, a
//! missing input run of a fusion row is recomputed, and the report has its tables. Skipped, with
//! a message, where `../shared/data` is absent. Also: every committed experiment config parses,
//! checks and resolves (needs no data).

use std::path::{Path, PathBuf};

use optical::experiment::{
    Experiment, ExperimentConfig, ExperimentOptions, MIX_LANG, MethodKind, RunRecord, record_path,
};

fn data_root() -> Option<PathBuf> {
    let root = std::env::var_os("OPTICAL_DATA_ROOT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    if root.join("eval").exists() {
        Some(root)
    } else {
        eprintln!("skipped: no data at {}", root.display());
        None
    }
}

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clir-encoders/tests/fixtures/tiny-bert")
}

fn grid(teacher: &Path) -> ExperimentConfig {
    let text = format!(
        r#"
name = "tiny"
seeds = [0, 1]
collections = ["afriqa:hau:dev"]
teacher = "{}"
depth = 20
budget = 40
[distil.train]
epochs = 1
batch_size = 8
max_len = 32
checkpoint_every = 2
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "bm25"
kind = "bm25"
[[method]]
name = "bm25-translated"
kind = "bm25-translated"
[[method]]
name = "optical"
kind = "distil"
role = "system"
distil = {{ method = "optical" }}
[[method]]
name = "rrf-bm25-optical"
kind = "rrf"
role = "system"
of = ["bm25", "optical"]
[[method]]
name = "upper-bound"
kind = "english"
role = "reference"
"#,
        teacher.display()
    );
    let config: ExperimentConfig = toml::from_str(&text).unwrap();
    config.check().unwrap();
    config
}

fn options(config: &ExperimentConfig, root: &Path, work: &Path) -> ExperimentOptions {
    let mut opts = ExperimentOptions::new(config);
    opts.data_root = root.into();
    opts.runs_dir = work.join("runs");
    opts.records_dir = work.join("records");
    opts.cache_dir = work.join("cache");
    opts.progress = false;
    opts
}

#[test]
fn a_grid_runs_resumes_and_reports() {
    let Some(root) = data_root() else { return };
    let work = tempfile::tempdir().unwrap();
    let config = grid(&tiny());

    let mut first = Experiment::new(config.clone(), options(&config, &root, work.path())).unwrap();
    let s = first.run().unwrap();
    // zero-shot, bm25, upper-bound once; bm25-translated, optical, rrf once per seed.
    assert_eq!((s.computed, s.cached, s.trained), (9, 0, 2), "{s:?}");
    let rec = RunRecord::load(&record_path(
        &work.path().join("records"),
        "afriqa-hau-dev",
        "optical",
        Some(1),
    ))
    .unwrap()
    .unwrap();
    assert_eq!(rec.seed, Some(1));
    assert!(rec.num_queries > 100, "{}", rec.num_queries);
    assert!(rec.training.is_some());
    for key in ["ndcg_cut_10", "map", "mrr_10", "recall_100"] {
        let v = rec.means[key];
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    // Students are removed once their runs exist (keep_students = false).
    assert!(
        !work
            .path()
            .join("runs/students/hau/optical/seed-0/student")
            .exists()
    );

    // A second sitting finds every record current.
    let mut again = Experiment::new(config.clone(), options(&config, &root, work.path())).unwrap();
    let s = again.run().unwrap();
    assert_eq!((s.computed, s.cached, s.trained), (0, 9, 0), "{s:?}");

    // A fusion row whose input run is gone (another machine) recomputes the input first; the
    // input's record measures the same and is left as committed.
    let optical_seed0 = record_path(
        &work.path().join("records"),
        "afriqa-hau-dev",
        "optical",
        Some(0),
    );
    let committed = RunRecord::load(&optical_seed0).unwrap().unwrap();
    std::fs::remove_file(work.path().join("runs/afriqa-hau-dev/optical/seed-0.trec")).unwrap();
    std::fs::remove_file(record_path(
        &work.path().join("records"),
        "afriqa-hau-dev",
        "rrf-bm25-optical",
        Some(0),
    ))
    .unwrap();
    let mut third = Experiment::new(config.clone(), options(&config, &root, work.path())).unwrap();
    let s = third.run().unwrap();
    assert_eq!((s.computed, s.trained), (2, 1), "{s:?}");
    let remeasured = RunRecord::load(&optical_seed0).unwrap().unwrap();
    assert_eq!(remeasured, committed);

    let md = third
        .report("cargo run --example experiment -- tiny.toml", None)
        .unwrap();
    for want in [
        "**nDCG@10**",
        "**R@100**",
        "| optical |",
        "| upper-bound |",
        "afriqa:hau:dev",
        "9 run records",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }

    // A sitting without training budget runs the cheap rows and defers the students and the
    // fusion rows that need them.
    let fresh = tempfile::tempdir().unwrap();
    let mut opts = options(&config, &root, fresh.path());
    opts.cache_dir = work.path().join("cache");
    opts.max_trainings = Some(0);
    let mut cheap = Experiment::new(config.clone(), opts).unwrap();
    let s = cheap.run().unwrap();
    assert_eq!((s.computed, s.deferred, s.trained), (5, 4, 0), "{s:?}");

    // A changed setting makes the affected records stale, and only those.
    let mut changed = config.clone();
    changed.budget = 32;
    let stale = Experiment::new(changed.clone(), options(&changed, &root, work.path())).unwrap();
    let current = stale.records().unwrap();
    let methods: Vec<&str> = current.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["zero-shot", "bm25", "upper-bound"], "{methods:?}");
}

/// A sitting limited to some collections computes only those, but its report (the committed
/// section of docs/results.md) still covers every collection of the config.
#[test]
fn a_partial_sitting_reports_every_collection() {
    let Some(root) = data_root() else { return };
    let work = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
name = "partial"
seeds = [0]
collections = ["afriqa:hau:dev", "afriqa:ibo:dev"]
teacher = "{}"
depth = 20
baseline = "bm25"
[[method]]
name = "bm25"
kind = "bm25"
"#,
        tiny().display()
    );
    let config: ExperimentConfig = toml::from_str(&text).unwrap();
    config.check().unwrap();
    for (only, records) in [("afriqa:hau:dev", 1), ("afriqa:ibo:dev", 2)] {
        let mut opts = options(&config, &root, work.path());
        opts.only_collections = vec![only.into()];
        let mut sitting = Experiment::new(config.clone(), opts).unwrap();
        assert_eq!(sitting.run().unwrap().computed, 1, "{only}");
        let md = sitting.report("experiment partial.toml", None).unwrap();
        assert!(
            md.contains("| afriqa:hau:dev | afriqa:ibo:dev |"),
            "{only}: a column is missing in\n{md}"
        );
        assert!(md.contains(&format!("from {records} run records")), "{md}");
        let bm25 = md.lines().find(|l| l.starts_with("| bm25 |")).unwrap();
        assert_eq!(bm25.contains("| – |"), records == 1, "{bm25}");
    }
}

/// A token-alignment grid on FLORES devtest: every dense row records the token diagnostics per
/// pair, and switching them on for records made without them measures those cells again (the
/// run itself is unchanged, so its fingerprint is too).
#[test]
fn token_diagnostics_complete_older_records() {
    let Some(root) = data_root() else { return };
    let work = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
name = "tiny-align"
seeds = [0]
collections = ["flores:hau"]
teacher = "{}"
depth = 20
alignment = true
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "bm25"
kind = "bm25"
"#,
        tiny().display()
    );
    let mut config: ExperimentConfig = toml::from_str(&text).unwrap();
    config.check().unwrap();
    let record = || {
        RunRecord::load(&record_path(
            &work.path().join("records"),
            "flores-hau",
            "zero-shot",
            None,
        ))
        .unwrap()
        .unwrap()
    };

    let mut plain = Experiment::new(config.clone(), options(&config, &root, work.path())).unwrap();
    assert_eq!(plain.run().unwrap().computed, 2);
    let before = record();
    assert!(before.per_query.contains_key("cos_gap"));
    assert!(!before.per_query.contains_key("token_aer"));

    config.token_alignment = true;
    let mut tokens = Experiment::new(config.clone(), options(&config, &root, work.path())).unwrap();
    let s = tokens.run().unwrap();
    // zero-shot is measured again; BM25 has no plan to measure and stays cached.
    assert_eq!((s.computed, s.cached), (1, 1), "{s:?}");
    let after = record();
    assert_eq!(after.fingerprint, before.fingerprint);
    // The same run: bit for bit the same score.
    assert_eq!(
        after.means["ndcg_cut_10"].to_bits(),
        before.means["ndcg_cut_10"].to_bits()
    );
    let aer = &after.per_query["token_aer"];
    assert_eq!(aer.len(), after.per_query["cos_gap"].len());
    assert!(aer.len() > 1000, "{}", aer.len());
    assert!(aer.values().all(|v| (0.0..=1.0).contains(v)));
    let mean = after.means["token_aer"];
    assert!(mean > 0.0 && mean < 1.0, "mean token AER {mean}");

    let mut again = Experiment::new(config.clone(), options(&config, &root, work.path())).unwrap();
    let s = again.run().unwrap();
    assert_eq!((s.computed, s.cached), (0, 2), "{s:?}");
    let md = again.report("experiment tiny-align.toml", None).unwrap();
    assert!(
        md.contains("**token AER of the OT plan against co-occurrence links**"),
        "{md}"
    );
}

/// Every config in `configs/experiments` loads and checks, every distil row of it resolves to a
/// checked distillation config for every collection's language and every seed (the merge the
/// runner does before training), and its generated section has its markers in docs/results.md —
/// so a malformed committed config fails here, not hours into a sitting.
#[test]
fn committed_experiment_configs_parse_resolve_and_have_sections() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let results = std::fs::read_to_string(root.join("docs/results.md")).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("configs/experiments")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file = path.display();
        let config = ExperimentConfig::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let section = config.section().to_owned();
        let seeds = config.seeds.clone();
        let specs = config.collection_specs().unwrap();
        let opts = ExperimentOptions::new(&config);
        names.push(config.name.clone());
        let exp = Experiment::new(config, opts).unwrap_or_else(|e| panic!("{file}: {e}"));
        let distil_rows = exp
            .config()
            .methods
            .iter()
            .filter(|m| m.kind == MethodKind::Distil);
        for m in distil_rows {
            for spec in &specs {
                let lang = if m.mix.is_some() {
                    MIX_LANG
                } else {
                    spec.language()
                };
                for &seed in &seeds {
                    exp.distil_config(m, lang, seed).unwrap_or_else(|e| {
                        panic!("{file}: row `{}`, {lang}, seed {seed}: {e}", m.name)
                    });
                }
            }
        }
        for marker in ["BEGIN", "END"] {
            assert!(
                results.contains(&format!("<!-- {marker} {section} -->")),
                "{file}: docs/results.md has no `{marker} {section}` marker"
            );
        }
    }
    for name in [
        "demo",
        "tune",
        "main",
        "noise",
        "adversarial",
        "scaling",
        "alignment",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "no committed config `{name}`"
        );
    }
}
