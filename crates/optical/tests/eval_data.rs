//! The evaluation converters on the real files in `../shared/data`. Expected counts were computed
//! independently with Python's `json` module (see the comments); the tests are skipped, with a
//! message, where the data is absent.

use std::path::PathBuf;

use optical::data::{afriqa, flores, xquad};

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

#[test]
fn afriqa_pool_is_every_unique_nonempty_passage() {
    let Some(root) = data_root() else { return };
    // python: len({r['context'] for every row of every file if isinstance(str) and .strip()})
    let docs = afriqa::documents(&root).unwrap();
    assert_eq!(docs.len(), 4055);
    let mut ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), docs.len(), "ids are unique and sorted");
}

#[test]
fn afriqa_strict_and_all_variants_match_python() {
    let Some(root) = data_root() else { return };
    // python: rows with a string question and a non-empty context; strict adds c[s:].startswith(t)
    for (lang, split, all, strict) in [
        ("hau", "test", 300, 271),
        ("twi", "dev", 348, 302),
        ("yor", "test", 253, 208),
    ] {
        let a = afriqa::load(&root, lang, split, afriqa::QrelsVariant::All).unwrap();
        let s = afriqa::load(&root, lang, split, afriqa::QrelsVariant::Strict).unwrap();
        assert_eq!(
            (a.queries.len(), s.queries.len()),
            (all, strict),
            "{lang} {split}"
        );
        assert_eq!(s.qrels.len(), s.queries.len());
        let pool: std::collections::HashSet<&str> =
            s.documents.iter().map(|d| d.id.as_str()).collect();
        assert!(s.qrels.iter().all(|j| pool.contains(j.doc_id.as_str())));
    }
}

#[test]
fn afriqa_nan_question_is_reported_not_turned_into_text() {
    let Some(root) = data_root() else { return };
    // twi dev line 109 has "question_lang": NaN.
    let c = afriqa::load(&root, "twi", "dev", afriqa::QrelsVariant::All).unwrap();
    let nan = c
        .skipped
        .iter()
        .find(|s| s.line == 109)
        .expect("line 109 reported");
    assert!(nan.reason.contains("question_lang"), "{nan}");
    assert!(
        c.queries
            .iter()
            .all(|q| q.text != "NaN" && !q.text.is_empty())
    );
    // python: rows without a string question or a non-empty context.
    assert_eq!(c.skipped.len(), 20);
}

#[test]
fn afriqa_languages_are_discovered_from_files() {
    let Some(root) = data_root() else { return };
    let found = afriqa::available(&root).unwrap();
    assert!(found.contains(&("swa".to_owned(), "test".to_owned())));
    assert_eq!(found.iter().filter(|(_, s)| s == "test").count(), 6);
}

#[test]
fn xquad_sentence_and_paragraph_pools() {
    let Some(root) = data_root() else { return };
    // python: 1180 sentence_breaks, 240 paragraphs, 1190 questions in en.json
    let s = xquad::load(&root, "de", xquad::Granularity::Sentence).unwrap();
    assert_eq!(
        (s.documents.len(), s.queries.len(), s.qrels.len()),
        (1180, 1190, 1190)
    );
    let p = xquad::load(&root, "de", xquad::Granularity::Paragraph).unwrap();
    assert_eq!(p.documents.len(), 240);
    let relevant: std::collections::HashSet<&str> =
        s.qrels.iter().map(|j| j.doc_id.as_str()).collect();
    assert_eq!(
        relevant.len(),
        787,
        "data README: only 787 sentences are relevant to some question"
    );
    assert_eq!(s.english_queries.len(), s.queries.len());
}

#[test]
fn flores_devtest_is_line_aligned() {
    let Some(root) = data_root() else { return };
    let c = flores::load_devtest(&root, "hau").unwrap();
    assert_eq!(c.queries.len(), 1012);
    assert_eq!(c.documents.len(), 1012);
    assert!(flores::file(&root, "xxx", "devtest").is_err());
    // Other spellings of the language find the FLORES file.
    for (code, name) in [
        ("swa", "swh_Latn"),
        ("hi", "hin_Deva"),
        ("hau_Latn", "hau_Latn"),
    ] {
        let path = flores::file(&root, code, "devtest").unwrap();
        assert_eq!(
            path.file_name().unwrap(),
            format!("{name}.devtest.gz").as_str()
        );
    }
}

#[test]
fn bitext_assembly_matches_python_and_never_contains_evaluation_text() {
    use optical::data::bitext::{self, BitextSpec, LeakGuard, Source};
    let Some(root) = data_root() else { return };
    let guard = LeakGuard::from_root(&root).unwrap();
    // python: normalised FLORES devtest lines, AfriQA passages of every split and dev/test
    // questions and translations, XQuAD-R questions and English sentences (with the train-split
    // questions too it was 46,211: 2,663 texts occur only as train-split questions).
    assert_eq!(guard.len(), 43548);
    // python: FLORES dev + NTREX + LAFAND train/dev (+ MENYO train/dev for yor), exact-pair dedup.
    for (lang, read, kept, dup) in [("hau", 7392, 7318, 74), ("yor", 24648, 18643, 6005)] {
        let b = bitext::load(&root, &BitextSpec::new(lang), &guard).unwrap();
        let r = &b.report;
        assert_eq!(r.read.iter().map(|(_, n)| n).sum::<usize>(), read, "{lang}");
        assert_eq!(
            (b.pairs.len(), r.duplicates, r.leaked),
            (kept, dup, 0),
            "{lang}"
        );
    }
    // Nothing from FLORES devtest, even when a source is forced to contain it.
    let devtest = root.join("bitext/flores200/devtest");
    let mut g = LeakGuard::default();
    g.extend(["Hello there".to_owned()]);
    assert!(g.contains("  hello   THERE "));
    let b = bitext::load(
        &root,
        &BitextSpec::new("hau").sources(vec![Source::FloresDev]),
        &guard,
    )
    .unwrap();
    assert_eq!(b.pairs.len(), 997);
    assert!(b.report.files.iter().all(|f| !f.starts_with(&devtest)));
    // In-domain bitext: AfriQA train questions with their human translations; the ones that
    // repeat a dev or test question are leaks (python: hau 225 rows, 5 leaked, 220 kept; twi
    // 367, 39, 323).
    for (lang, read, leaked, kept) in [("hau", 225, 5, 220), ("twi", 367, 39, 323)] {
        let spec = BitextSpec::new(lang).sources(vec![Source::AfriqaTrain]);
        let b = bitext::load(&root, &spec, &guard).unwrap();
        assert_eq!(
            (b.report.read[0].1, b.report.leaked, b.pairs.len()),
            (read, leaked, kept),
            "{lang}"
        );
        assert!(b.pairs.iter().all(|p| p.source == Source::AfriqaTrain));
        assert!(
            b.pairs
                .iter()
                .all(|p| !guard.contains(&p.lrl) && !guard.contains(&p.en))
        );
    }
    assert_eq!(Source::from_name("afriqa-train"), Some(Source::AfriqaTrain));
}

#[test]
fn bitext_budget_is_a_seeded_prefix_and_aliases_resolve() {
    use optical::data::bitext::{self, BitextSpec, LeakGuard};
    let Some(root) = data_root() else { return };
    let guard = LeakGuard::default();
    let a = bitext::load(&root, &BitextSpec::new("hau").budget(500, 7), &guard).unwrap();
    let b = bitext::load(&root, &BitextSpec::new("hau").budget(500, 7), &guard).unwrap();
    let c = bitext::load(&root, &BitextSpec::new("hau").budget(500, 8), &guard).unwrap();
    assert_eq!(a.pairs, b.pairs);
    assert_ne!(a.pairs, c.pairs);
    assert_eq!(a.pairs.len(), 500);
    // In-domain pairs come on top of the budget, after the same sample.
    let da_spec = BitextSpec::new("hau")
        .budget(500, 7)
        .in_domain(vec![bitext::Source::AfriqaTrain]);
    let da = bitext::load(&root, &da_spec, &guard).unwrap();
    assert_eq!(da.pairs.len(), 500 + 225);
    assert_eq!(da.pairs[..500], a.pairs[..]);
    assert!(
        da.pairs[500..]
            .iter()
            .all(|p| p.source == bitext::Source::AfriqaTrain)
    );
    // Swahili is `swh` in FLORES, `swa` in NTREX and LAFAND: both spellings find all three.
    let swa = bitext::load(&root, &BitextSpec::new("swa"), &guard).unwrap();
    let swh = bitext::load(&root, &BitextSpec::new("swh"), &guard).unwrap();
    assert_eq!(swa.pairs.len(), swh.pairs.len());
    assert!(
        swa.report
            .read
            .iter()
            .all(|(s, n)| *n > 0 || s.name() == "menyo"),
        "{:?}",
        swa.report.read
    );
    let missing = bitext::load(&root, &BitextSpec::new("xxq"), &guard).unwrap_err();
    assert!(
        missing.to_string().contains("no bitext for `xxq`"),
        "{missing}"
    );
}

#[test]
fn bitext_mix_fills_exact_quotas_with_nested_samples() {
    use optical::data::bitext::{self, BitextSpec, LeakGuard};
    let Some(root) = data_root() else { return };
    let guard = LeakGuard::default();
    let template = BitextSpec::new("unused");
    let mix = |r: f64| vec![("hau".to_owned(), r), ("de".to_owned(), 1.0 - r)];
    let quarter = bitext::load_mix(&root, &mix(0.25), 301, 3, &template, &guard).unwrap();
    let half = bitext::load_mix(&root, &mix(0.5), 301, 3, &template, &guard).unwrap();
    // 301 · 0.25 = 75.25 → 75 Hausa, 226 German; 301 · 0.5 → 151 Hausa (remainder tie to the
    // first part), 150 German.
    assert_eq!(quarter.pairs.len(), 301);
    assert_eq!(half.pairs.len(), 301);
    let hau_seed = bitext::language_seed(3, "hau");
    let hau_spec = BitextSpec::new("hau").budget(151, hau_seed);
    let hau_alone = bitext::load(&root, &hau_spec, &guard).unwrap();
    assert_eq!(quarter.pairs[..75], hau_alone.pairs[..75]);
    assert_eq!(half.pairs[..151], hau_alone.pairs[..]);
    // The German sample of the smaller share is a prefix of the larger one's.
    assert_eq!(half.pairs[151..], quarter.pairs[75..75 + 150]);
    assert_eq!(quarter.lang, "hau:0.25+de:0.75");
    // Languages with sources of the same shape draw different lines: German and Chinese (FLORES
    // dev + NTREX each) share few English sentences.
    let de_zh = vec![("de".to_owned(), 0.5), ("zh".to_owned(), 0.5)];
    let both = bitext::load_mix(&root, &de_zh, 400, 3, &template, &guard).unwrap();
    let de_en: std::collections::HashSet<&str> =
        both.pairs[..200].iter().map(|p| p.en.as_str()).collect();
    let shared = both.pairs[200..]
        .iter()
        .filter(|p| de_en.contains(p.en.as_str()))
        .count();
    assert!(shared < 40, "{shared} of 200 English sentences shared");
    // Share 0 reads nothing of the language.
    let none = bitext::load_mix(&root, &mix(0.0), 50, 3, &template, &guard).unwrap();
    assert_eq!(none.pairs, quarter.pairs[75..125]);
    // A quota larger than the language's bitext is an error naming both.
    let err = bitext::load_mix(&root, &mix(1.0), 1_000_000, 3, &template, &guard).unwrap_err();
    assert!(err.to_string().contains("1000000 `hau` pairs"), "{err}");
}
