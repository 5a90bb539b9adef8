//! Property tests: counting (sentence and diagonal windows) equals a naive per-pair count, is symmetric under swapping sides
//! and invariant under pair order and duplicated types within a sentence.

use cooc::{CoocTable, CountOptions, SrcTokenId, TgtTokenId, Window};
use proptest::prelude::*;

type Corpus = Vec<(Vec<u32>, Vec<u32>)>;

/// A random corpus over small vocabularies (so pairs repeat).
fn corpus() -> impl Strategy<Value = Corpus> {
    prop::collection::vec(
        (
            prop::collection::vec(0u32..30, 0..12),
            prop::collection::vec(0u32..25, 0..12),
        ),
        0..60,
    )
}

/// A corpus with a permutation of its pairs.
fn corpus_and_permutation() -> impl Strategy<Value = (Corpus, Corpus)> {
    corpus().prop_flat_map(|c| {
        let shuffled = Just(c.clone()).prop_shuffle();
        (Just(c), shuffled)
    })
}

fn opts(chunk: usize) -> CountOptions {
    CountOptions {
        chunk_size: chunk,
        ..CountOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn equals_naive_count(c in corpus(), chunk in 1usize..20) {
        let a = CoocTable::from_pairs(&c, &opts(chunk)).unwrap();
        let mut naive = std::collections::BTreeMap::new();
        for (s, t) in &c {
            let s: std::collections::BTreeSet<u32> = s.iter().copied().collect();
            let t: std::collections::BTreeSet<u32> = t.iter().copied().collect();
            for &x in &s {
                for &y in &t {
                    *naive.entry((x, y)).or_insert(0u32) += 1;
                }
            }
        }
        let got: Vec<((u32, u32), u32)> = a.iter().map(|(s, t, n)| ((s.0, t.0), n)).collect();
        let want: Vec<((u32, u32), u32)> = naive.into_iter().collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(a.n_pairs(), c.len() as u64);
    }

    #[test]
    fn symmetric_under_swapping_sides(c in corpus(), chunk in 1usize..20) {
        let a = CoocTable::from_pairs(&c, &opts(chunk)).unwrap();
        let swapped: Corpus = c.iter().map(|(s, t)| (t.clone(), s.clone())).collect();
        let b = CoocTable::from_pairs(&swapped, &opts(chunk)).unwrap();
        for (s, t, n) in a.iter() {
            prop_assert_eq!(b.count(SrcTokenId(t.0), TgtTokenId(s.0)), n);
        }
        prop_assert_eq!(a.nnz(), b.nnz());
        prop_assert_eq!(a.src_marginals(), b.tgt_marginals());
        prop_assert_eq!(a.transpose(), b);
    }

    #[test]
    fn invariant_under_pair_order((c, p) in corpus_and_permutation(), chunk in 1usize..20) {
        let a = CoocTable::from_pairs(&c, &opts(1 << 10)).unwrap();
        let b = CoocTable::from_pairs(&p, &opts(chunk)).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn invariant_under_duplicate_types(c in corpus(), reps in 1usize..4) {
        let a = CoocTable::from_pairs(&c, &opts(7)).unwrap();
        let dup: Corpus = c
            .iter()
            .map(|(s, t)| {
                let mut s2 = s.repeat(reps);
                s2.reverse();
                (s2, t.iter().flat_map(|&x| std::iter::repeat_n(x, reps)).collect())
            })
            .collect();
        let b = CoocTable::from_pairs(&dup, &opts(7)).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn counts_are_bounded_by_marginals(c in corpus()) {
        let a = CoocTable::from_pairs(&c, &opts(16)).unwrap();
        for (s, t, n) in a.iter() {
            prop_assert!(n >= 1);
            prop_assert!(n <= a.src_count(s).min(a.tgt_count(t)));
        }
        prop_assert!(a.src_marginals().iter().all(|&m| u64::from(m) <= a.n_pairs()));
    }

    #[test]
    fn diagonal_window_equals_naive_count(c in corpus(), chunk in 1usize..20, width in 0.0f32..=1.0) {
        let o = CountOptions { window: Window::Diagonal { width }, ..opts(chunk) };
        let a = CoocTable::from_pairs(&c, &o).unwrap();
        let mut naive = std::collections::BTreeMap::new();
        for (s, t) in &c {
            let (m, n) = (s.len() as f32, t.len() as f32);
            let mut keys = std::collections::BTreeSet::new();
            for (i, &x) in s.iter().enumerate() {
                for (j, &y) in t.iter().enumerate() {
                    if ((i as f32 + 0.5) / m - (j as f32 + 0.5) / n).abs() <= width {
                        keys.insert((x, y));
                    }
                }
            }
            for k in keys {
                *naive.entry(k).or_insert(0u32) += 1;
            }
        }
        let got: Vec<((u32, u32), u32)> = a.iter().map(|(s, t, n)| ((s.0, t.0), n)).collect();
        let want: Vec<((u32, u32), u32)> = naive.into_iter().collect();
        prop_assert_eq!(got, want);
    }
}
