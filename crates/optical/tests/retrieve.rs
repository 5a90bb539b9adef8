//! Retrieval on synthetic data and the committed tiny random checkpoints: exact dense top-k, the
//! document-embedding cache and its key, BM25 with query-syntax characters, reciprocal-rank
//! fusion against hand-computed scores, the bitext lexicon and atomic run files.

use std::path::{Path, PathBuf};

use approx::assert_relative_eq;
use optical::clir_encoders::tch::{self, Kind, Tensor};
use optical::clir_metrics::Run;
use optical::data::{Document, Topic};
use optical::model::{Role, configure};
use optical::retrieve::{
    Bm25Index, Bm25Options, DenseIndex, Lexicon, LexiconOptions, rrf, save_run,
};
use rand::{Rng, SeedableRng};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../clir-encoders/tests/fixtures")
        .join(name)
}

fn doc(id: &str, text: &str) -> Document {
    Document {
        id: id.into(),
        text: text.into(),
    }
}

fn topic(id: &str, text: &str) -> Topic {
    Topic {
        id: id.into(),
        text: text.into(),
    }
}

fn ranking(run: &Run, q: &str) -> Vec<(String, f64)> {
    run.query(q)
        .map(|id| {
            run.ranking(id)
                .iter()
                .map(|&(d, s)| (run.doc_name(d).to_owned(), s))
                .collect()
        })
        .unwrap_or_default()
}

/// Random texts over words the tiny vocabularies spell (lower-case letters).
fn random_docs(n: usize, seed: u64) -> Vec<Document> {
    const WORDS: [&str; 12] = [
        "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "big", "red", "house",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let len = rng.random_range(2..12);
            let text: Vec<&str> = (0..len)
                .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                .collect();
            doc(&format!("d{i}"), &text.join(" "))
        })
        .collect()
}

#[test]
fn dense_top_k_equals_a_brute_force_sort() {
    tch::manual_seed(7);
    let (n, d, nq, k) = (300, 16, 37, 10);
    let e = Tensor::randn([n, d], (Kind::Float, tch::Device::Cpu));
    let e = &e / e.norm_scalaropt_dim(2, [1], true);
    let ids: Vec<String> = (0..n).map(|i| format!("doc{i}")).collect();
    let index = DenseIndex::from_embeddings(ids.clone(), &e).unwrap();
    assert_eq!((index.len(), index.dim()), (n as usize, d));
    let q = Tensor::randn([nq, d], (Kind::Float, tch::Device::Cpu));
    let qids: Vec<String> = (0..nq).map(|i| format!("q{i}")).collect();
    let run = index.search_vectors(&qids, &q, k, "dense").unwrap();
    let scores: Vec<f32> = Vec::try_from(q.matmul(&e.tr()).reshape([-1])).unwrap();
    for (i, qid) in qids.iter().enumerate() {
        let mut all: Vec<(usize, f32)> = scores[i * n as usize..(i + 1) * n as usize]
            .iter()
            .copied()
            .enumerate()
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let want: Vec<(String, f64)> = all[..k]
            .iter()
            .map(|&(j, s)| (ids[j].clone(), f64::from(s)))
            .collect();
        let got = ranking(&run, qid);
        assert_eq!(got.len(), k);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.0, w.0, "query {qid}");
            assert_relative_eq!(g.1, w.1, max_relative = 1e-6);
        }
    }
    // Ties at the cut-off are resolved by document order, whatever the query order.
    let tied = Tensor::ones([4, d], (Kind::Float, tch::Device::Cpu));
    let tie_index =
        DenseIndex::from_embeddings((0..4).map(|i| format!("t{i}")).collect(), &tied).unwrap();
    let q1 = Tensor::ones([1, d], (Kind::Float, tch::Device::Cpu));
    let run = tie_index
        .search_vectors(&["q".into()], &q1, 2, "t")
        .unwrap();
    let mut got: Vec<String> = ranking(&run, "q").into_iter().map(|p| p.0).collect();
    got.sort();
    assert_eq!(got, ["t0", "t1"]);
    // Wrong shapes are errors, not panics.
    assert!(index.search_vectors(&qids[..2], &q, k, "x").is_err());
}

fn files(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == ext))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn document_cache_hits_and_its_key_follows_model_and_corpus() {
    let model = fixture("tiny-bert");
    if !model.join("model.safetensors").exists() {
        eprintln!("skipping: {} absent", model.display());
        return;
    }
    let load = || {
        configure(
            optical::clir_encoders::Encoder::load(&model, tch::Device::Cpu).unwrap(),
            Role::Passage,
        )
    };
    let enc = load();
    let docs = random_docs(25, 3);
    let dir = tempfile::tempdir().unwrap();
    let fresh = DenseIndex::build(&enc, &docs, None, false).unwrap();
    let first = DenseIndex::build(&enc, &docs, Some(dir.path()), false).unwrap();
    assert_eq!(files(dir.path(), "json"), 1);
    assert_eq!(files(dir.path(), "safetensors"), 1);
    assert!(first.embeddings().equal(fresh.embeddings()));
    // A hit: identical vectors, no new file; a reloaded model gives the same key.
    let meta = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let stamp = std::fs::metadata(&meta).unwrap().modified().unwrap();
    let again = DenseIndex::build(&load(), &docs, Some(dir.path()), false).unwrap();
    assert!(again.embeddings().equal(first.embeddings()));
    assert_eq!(again.doc_ids(), first.doc_ids());
    assert_eq!(std::fs::metadata(&meta).unwrap().modified().unwrap(), stamp);
    assert_eq!(files(dir.path(), "json"), 1);
    // One changed document text: a new key.
    let mut changed = docs.clone();
    changed[4].text.push_str(" cat");
    DenseIndex::build(&enc, &changed, Some(dir.path()), false).unwrap();
    assert_eq!(files(dir.path(), "json"), 2);
    // A changed encoding option (the prefix): a new key.
    let prefixed = load().prefix("passage: ");
    DenseIndex::build(&prefixed, &docs, Some(dir.path()), false).unwrap();
    assert_eq!(files(dir.path(), "json"), 3);
    // Another model: a new key.
    let xlmr = fixture("tiny-xlmr");
    let other = configure(
        optical::clir_encoders::Encoder::load(&xlmr, tch::Device::Cpu).unwrap(),
        Role::Passage,
    );
    DenseIndex::build(&other, &docs, Some(dir.path()), false).unwrap();
    assert_eq!(files(dir.path(), "json"), 4);
    // A damaged cache is rebuilt, not trusted.
    std::fs::write(&meta, b"{not json").unwrap();
    let rebuilt = DenseIndex::build(&enc, &docs, Some(dir.path()), false).unwrap();
    assert!(rebuilt.embeddings().equal(fresh.embeddings()));
    // Search through the encoder: each document's own text ranks it first.
    let queries: Vec<Topic> = docs
        .iter()
        .take(3)
        .map(|d| topic(&format!("q-{}", d.id), &d.text))
        .collect();
    let run = first.search(&enc, &queries, 5, "dense").unwrap();
    for (q, d) in queries.iter().zip(&docs) {
        let top = &ranking(&run, &q.id)[0];
        assert!(
            top.0 == d.id || (top.1 - ranking(&run, &q.id)[1].1).abs() < 1e-6,
            "{q:?}"
        );
    }
}

#[test]
fn bm25_ranks_the_exact_term_document_first_and_ignores_query_syntax() {
    let docs = [
        doc("d1", "Kano is the largest city of northern Nigeria."),
        doc("d2", "Lagos is a city in Nigeria on the coast."),
        doc("d3", "The Niger river flows through Mali and Niger."),
        doc("d4", "Paris is the capital of France."),
    ];
    let index = Bm25Index::build(&docs).unwrap();
    assert_eq!(index.len(), 4);
    let queries = [
        topic("q1", "KANO"),
        topic(
            "q2",
            "Wane \"birni\": Lagos? (AND) OR -NOT +x~2 [a TO b] {c} ^3 \\ / * 'y'",
        ),
        topic("q3", "!!! ??? :::"),
        topic("q4", "river Mali"),
    ];
    let run = index.search(&queries, 10, "bm25").unwrap();
    assert_eq!(ranking(&run, "q1")[0].0, "d1");
    assert_eq!(ranking(&run, "q1").len(), 1);
    assert_eq!(ranking(&run, "q2")[0].0, "d2");
    assert!(
        ranking(&run, "q3").is_empty(),
        "a query without terms retrieves nothing"
    );
    assert_eq!(ranking(&run, "q4")[0].0, "d3");
    assert_eq!(run.tag(), "bm25");
    // k cuts the ranking; k = 0 gives an empty run.
    let two = index
        .search(&[topic("q", "city Nigeria Paris")], 2, "b")
        .unwrap();
    assert_eq!(ranking(&two, "q").len(), 2);
    assert_eq!(index.search(&queries, 0, "b").unwrap().num_queries(), 0);
    // Stemming makes "rivers" match "river".
    let plain = index.search(&[topic("q", "rivers")], 5, "b").unwrap();
    assert!(ranking(&plain, "q").is_empty());
    let stemmed = Bm25Index::build_with(&docs, Bm25Options { stemming: true }).unwrap();
    let hit = stemmed.search(&[topic("q", "rivers")], 5, "b").unwrap();
    assert_eq!(ranking(&hit, "q")[0].0, "d3");
    assert_eq!(
        index.terms("Hello, World-2!").unwrap(),
        ["hello", "world", "2"]
    );
}

#[test]
fn rrf_matches_hand_computed_scores() {
    let a = Run::builder()
        .doc("q1", "x", 3.0)
        .doc("q1", "y", 2.0)
        .doc("q1", "z", 1.0)
        .doc("q2", "x", 1.0)
        .build()
        .unwrap();
    let b = Run::builder()
        .doc("q1", "z", 0.9)
        .doc("q1", "w", 0.8)
        .doc("q1", "x", 0.7)
        .build()
        .unwrap();
    let fused = rrf(&[&a, &b], 60.0, 3, "rrf").unwrap();
    // x: 1/61 + 1/63; z: 1/63 + 1/61; y: 1/62; w: 1/62 — x and z tie, y and w tie.
    let got = ranking(&fused, "q1");
    assert_eq!(got.len(), 3);
    let xz = 1.0 / 61.0 + 1.0 / 63.0;
    assert_relative_eq!(got[0].1, xz, epsilon = 1e-15);
    assert_relative_eq!(got[1].1, xz, epsilon = 1e-15);
    assert_relative_eq!(got[2].1, 1.0 / 62.0, epsilon = 1e-15);
    let top: Vec<&str> = got.iter().map(|p| p.0.as_str()).collect();
    assert!(top[..2].contains(&"x") && top[..2].contains(&"z"));
    assert_eq!(top[2], "w", "the tie at the cut-off keeps the smaller id");
    assert_eq!(ranking(&fused, "q2"), [("x".to_string(), 1.0 / 61.0)]);
    assert_eq!(fused.tag(), "rrf");
    assert!(rrf(&[&a], f64::NAN, 3, "r").is_err());
    assert!(rrf(&[&a], -1.0, 3, "r").is_err());
}

#[test]
fn lexicon_translates_a_toy_bitext() {
    let bitext = [
        ("Ina son gida", "I love the house"),
        ("gida yana da kyau", "the house is beautiful"),
        ("mota tana da kyau", "the car is beautiful"),
        ("ina son mota", "I love the car"),
        ("ruwa yana da sanyi", "the water is cold"),
        ("ina son ruwa", "I love water"),
    ];
    let pairs = || bitext.iter().map(|&(s, t)| (s.to_string(), t.to_string()));
    let lexicon = Lexicon::from_bitext(pairs(), &LexiconOptions::default()).unwrap();
    assert_eq!(lexicon.get("gida"), Some("house"));
    assert_eq!(lexicon.get("mota"), Some("car"));
    assert_eq!(lexicon.get("ruwa"), Some("water"));
    assert_eq!(lexicon.get("kyau"), Some("beautiful"));
    // Unknown words (names) carry over, lower-cased; punctuation is split off.
    assert_eq!(lexicon.translate("Gida a Kano?"), "house a kano ?");
    let keep = LexiconOptions {
        keep_source: true,
        ..LexiconOptions::default()
    };
    let lexicon = Lexicon::from_bitext(pairs(), &keep).unwrap();
    assert_eq!(lexicon.translate("mota Kano"), "mota car kano");
    // Model 1 agrees on the clear cases; a min count above every count leaves it empty.
    let m1 = LexiconOptions {
        measure: optical::cooc::Measure::Model1,
        ..LexiconOptions::default()
    };
    let lexicon = Lexicon::from_bitext(pairs(), &m1).unwrap();
    assert_eq!(lexicon.get("gida"), Some("house"));
    let strict = LexiconOptions {
        min_count: 50,
        ..LexiconOptions::default()
    };
    assert!(Lexicon::from_bitext(pairs(), &strict).unwrap().is_empty());
    let bad = LexiconOptions {
        min_count: 0,
        ..LexiconOptions::default()
    };
    assert!(Lexicon::from_bitext(pairs(), &bad).is_err());
}

#[test]
fn runs_are_saved_atomically_and_read_back() {
    let run = Run::builder()
        .tag("t")
        .doc("q1", "d1", 0.5)
        .doc("q1", "d2", 0.25)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/x.run");
    save_run(&run, &path).unwrap();
    let back = Run::load(&path).unwrap();
    assert_eq!(ranking(&back, "q1"), ranking(&run, "q1"));
    assert_eq!(back.tag(), "t");
    assert_eq!(
        std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
        1
    );
}
