//! Exact agreement with the Python `collections.Counter` reference written by
//! `scripts/fixtures_cooc.py` on FLORES-200 dev hau→eng, and the real-data readers.

mod common;

use std::collections::HashMap;

use cooc::{
    CoocStats, CountOptions, Dedup, LinePairs, SrcTokenId, TgtTokenId, Tokenizer, TsvOptions,
    TsvPairs, WordOptions,
};

const FIXTURE: &str = include_str!("fixtures/flores_dev_hau_eng.tsv");

#[test]
fn counts_match_python_counter_on_flores_hau_eng() {
    let Some(root) = common::data_root() else {
        return;
    };
    let dev = root.join("bitext/flores200/dev");
    let mut header = HashMap::new();
    let (mut src_m, mut tgt_m, mut joint) = (Vec::new(), Vec::new(), Vec::new());
    for line in FIXTURE.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "#" => {
                header.insert(f[1], f[2].parse::<u64>().unwrap());
            }
            "S" => src_m.push((f[1], f[2].parse::<u32>().unwrap())),
            "T" => tgt_m.push((f[1], f[2].parse::<u32>().unwrap())),
            "C" => joint.push((f[1], f[2], f[3].parse::<u32>().unwrap())),
            k => panic!("unknown record {k}"),
        }
    }
    let n = header["n_pairs"] as usize;
    let pairs = LinePairs::open(dev.join("hau_Latn.dev.gz"), dev.join("eng_Latn.dev.gz"))
        .unwrap()
        .take(n);
    let stats = CoocStats::builder(Tokenizer::word(WordOptions::default()))
        .options(CountOptions {
            chunk_size: 64, // several chunks, so the merge path is exercised
            ..CountOptions::default()
        })
        .count(pairs)
        .unwrap();
    let table = stats.table();
    let tok = stats.tokenizer();
    assert_eq!(table.n_pairs(), n as u64);
    assert_eq!(table.nnz() as u64, header["nnz"]);
    let total: u64 = table.iter().map(|(_, _, c)| u64::from(c)).sum();
    assert_eq!(total, header["total"]);
    let Tokenizer::Word { src, tgt, .. } = tok else {
        panic!("word mode")
    };
    assert_eq!(src.len(), src_m.len());
    assert_eq!(tgt.len(), tgt_m.len());
    for (w, c) in src_m {
        assert_eq!(
            table.src_count(SrcTokenId(src.get(w).unwrap())),
            c,
            "c({w})"
        );
    }
    for (w, c) in tgt_m {
        assert_eq!(
            table.tgt_count(TgtTokenId(tgt.get(w).unwrap())),
            c,
            "c({w})"
        );
    }
    let mut twice = 0;
    for (a, b, c) in &joint {
        let (s, t) = (
            SrcTokenId(src.get(a).unwrap()),
            TgtTokenId(tgt.get(b).unwrap()),
        );
        assert_eq!(table.count(s, t), *c, "c({a}, {b})");
    }
    for (_, _, c) in table.iter() {
        twice += usize::from(c >= 2);
    }
    assert_eq!(twice, joint.len());
}

#[test]
fn menyo_tsv_reports_bom_and_stray_row() {
    let Some(root) = common::data_root() else {
        return;
    };
    let mut r = TsvPairs::open(
        root.join("bitext/menyo20k/dev.tsv.gz"),
        TsvOptions::default(),
    )
    .unwrap();
    let n = r.by_ref().collect::<cooc::Result<Vec<_>>>().unwrap().len();
    let rep = r.report();
    assert_eq!(rep.stray_lines, vec![700]);
    assert_eq!(n, 3396);
    assert_eq!(
        rep.header.as_deref(),
        Some(&["English".to_string(), "Yoruba".to_string()][..])
    );
}

#[test]
fn lafand_yoruba_dedups_against_itself() {
    let Some(root) = common::data_root() else {
        return;
    };
    let d = root.join("bitext/lafand/en-hau");
    let once = LinePairs::open(d.join("dev.en.gz"), d.join("dev.hau.gz")).unwrap();
    let twice = once.chain(LinePairs::open(d.join("dev.en.gz"), d.join("dev.hau.gz")).unwrap());
    let mut dd = Dedup::new(twice);
    let kept = dd.by_ref().collect::<cooc::Result<Vec<_>>>().unwrap().len();
    let lines = LinePairs::open(d.join("dev.en.gz"), d.join("dev.hau.gz"))
        .unwrap()
        .count();
    assert!(kept <= lines && dd.dropped() >= lines as u64);
    assert_eq!(kept as u64 + dd.dropped(), 2 * lines as u64);
}
