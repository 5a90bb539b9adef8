//! Query noise: determinism, rates, each kind on real low-resource text, and spec errors.

use std::collections::HashMap;

use optical::noise::{NoiseKind, QueryNoise};
use optical::retrieve::Lexicon;
use proptest::prelude::*;

const HAUSA: &str = "Wanene ya lashe gasar cin kofin duniya na shekarar 2014 a Brazil?";

fn at(spec: &str, rate: f64) -> QueryNoise {
    QueryNoise::parse(spec).unwrap().with_rate(rate).unwrap()
}

#[test]
fn noise_is_a_function_of_seed_key_and_rate() {
    let n = at("typo+diacritics+case+punctuation+drop:0.5", 0.3);
    let a = n.apply(HAUSA, "q7", 3, None).unwrap();
    assert_eq!(a, n.apply(HAUSA, "q7", 3, None).unwrap());
    // Other keys and seeds give other noise (over a few tries at least one differs).
    assert!((0..5).any(|k| n.apply(HAUSA, &format!("q{k}"), 3, None).unwrap() != a));
    assert!((0..5).any(|s| n.apply(HAUSA, "q7", s, None).unwrap() != a));
    // Rate 0 is the identity, byte for byte (spacing included).
    let odd = "  Ina   ne\tKano? ";
    assert_eq!(at("typo+drop", 0.0).apply(odd, "q", 1, None).unwrap(), odd);
}

#[test]
fn words_hit_at_a_rate_are_hit_at_every_higher_rate() {
    // Case loss is idempotent, so the lower-cased words at 0.2 must stay lower-cased at 0.5.
    let text = "Aa Bb Cc Dd Ee Ff Gg Hh Ii Jj Kk Ll Mm Nn Oo Pp Qq Rr Ss Tt";
    for key in ["a", "b", "c"] {
        let low = at("case", 0.2).apply(text, key, 0, None).unwrap();
        let high = at("case", 0.5).apply(text, key, 0, None).unwrap();
        for (l, h) in low.split(' ').zip(high.split(' ')) {
            if l.chars().all(char::is_lowercase) {
                assert!(h.chars().all(char::is_lowercase), "{low} / {high}");
            }
        }
    }
}

#[test]
fn typos_hit_about_rate_times_the_words() {
    // 2,000 queries of 10 words, rate 0.2: expected 4,000 hit words; binomial sd ≈ 57, so ±250
    // is over 4 sd. A typo can reproduce the word (e.g. substituting a letter by itself), so the
    // count of *changed* words is a little lower than the count of hits: allow for it below.
    let text = "alpha bravo charlie delta echo foxtrot golf hotel india juliet";
    let n = at("typo", 0.2);
    let mut changed = 0;
    for q in 0..2000 {
        let noisy = n.apply(text, &q.to_string(), 11, None).unwrap();
        changed += noisy
            .split(' ')
            .zip(text.split(' '))
            .filter(|(a, b)| a != b)
            .count();
    }
    assert!((3500..=4250).contains(&changed), "{changed} changed words");
}

#[test]
fn diacritics_go_and_hooked_letters_stay() {
    let n = at("diacritics", 1.0);
    assert_eq!(
        n.apply("Ọ̀rọ̀ Yorùbá ṣe pàtàkì", "q", 0, None).unwrap(),
        "Oro Yoruba se pataki"
    );
    assert_eq!(
        n.apply("Ụlọ akwụkwọ dị n'Enugu", "q", 0, None).unwrap(),
        "Ulo akwukwo di n'Enugu"
    );
    assert_eq!(
        n.apply("Ɗan ƙasar ɓarawo", "q", 0, None).unwrap(),
        "Ɗan ƙasar ɓarawo"
    );
}

#[test]
fn case_punctuation_and_drop() {
    assert_eq!(
        at("case+punctuation", 1.0)
            .apply("Ina ne Kano, a Najeriya?", "q", 0, None)
            .unwrap(),
        "ina ne kano a najeriya"
    );
    // A query keeps at least one word.
    for key in 0..50 {
        let out = at("drop", 1.0)
            .apply("Ina ne Kano?", &key.to_string(), 0, None)
            .unwrap();
        assert_eq!(out, "Ina");
    }
    // A lone punctuation word disappears with punctuation loss.
    assert_eq!(
        at("punctuation", 1.0)
            .apply("Kano ?", "q", 0, None)
            .unwrap(),
        "Kano"
    );
}

#[test]
fn code_switching_uses_the_lexicon_and_requires_one() {
    let lex = Lexicon::new(
        HashMap::from([
            ("gasar".to_owned(), "competition".to_owned()),
            ("duniya".to_owned(), "world".to_owned()),
        ]),
        false,
    );
    let out = at("code-switch", 1.0)
        .apply(HAUSA, "q", 0, Some(&lex))
        .unwrap();
    assert_eq!(
        out,
        "Wanene ya lashe competition cin kofin world na shekarar 2014 a Brazil?"
    );
    let err = at("code-switch", 0.5)
        .apply(HAUSA, "q", 0, None)
        .unwrap_err();
    assert!(err.to_string().contains("lexicon"), "{err}");
}

#[test]
fn specs_parse_print_and_explain_errors() {
    let n = QueryNoise::parse("typo+diacritics+code-switch:0.5+drop:0.25").unwrap();
    assert_eq!(n.to_string(), "typo+diacritics+code-switch:0.5+drop:0.25");
    assert_eq!(QueryNoise::parse(&n.to_string()).unwrap(), n);
    assert_eq!(n.steps()[2], (NoiseKind::CodeSwitch, 0.5));
    assert!(n.needs_lexicon());
    for (spec, want) in [
        ("typo+typos", "unknown kind `typos`"),
        ("drop:2", "weight must be in (0, 1]"),
        ("drop:-0.1", "weight must be in (0, 1]"),
        ("drop:NaN", "weight must be in (0, 1]"),
        ("case:x", "weight `x` is not a number"),
        ("case+case", "appears twice"),
        ("", "unknown kind ``"),
    ] {
        let err = QueryNoise::parse(spec).unwrap_err().to_string();
        assert!(err.contains(want), "{spec}: {err}");
    }
    assert!(n.with_rate(1.5).is_err());
    assert!(n.with_rate(f64::NAN).is_err());
}

#[test]
fn real_afriqa_queries_stay_valid_and_nonempty() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !root.join("eval/afriqa").exists() {
        eprintln!("skipped: no AfriQA data at {}", root.display());
        return;
    }
    let n = at("typo+diacritics+case+punctuation+drop:0.5", 0.3);
    for lang in ["hau", "yor", "ibo"] {
        let c = optical::data::afriqa::load(
            &root,
            lang,
            "test",
            optical::data::afriqa::QrelsVariant::Strict,
        )
        .unwrap();
        let mut changed = 0;
        for t in &c.queries {
            let noisy = n.apply(&t.text, &t.id, 0, None).unwrap();
            assert!(!noisy.trim().is_empty(), "{lang} {}", t.id);
            changed += usize::from(noisy != t.text);
        }
        // At rate 0.3 with five kinds nearly every question changes.
        assert!(changed * 10 > c.queries.len() * 9, "{lang}: {changed}");
    }
}

#[test]
fn a_word_that_edits_empty_is_dropped_and_the_query_keeps_a_word() {
    // Found by the property below: a typo deletes the `.` of "\u{300}.", diacritic stripping
    // then empties the lone mark, and the empty word used to be kept as the whole query.
    let out = at("typo+diacritics+case+punctuation+drop", 0.5729904653915829)
        .apply("\u{300}.", "k", 70, None)
        .unwrap();
    assert_eq!(out.split_whitespace().count(), 1, "{out:?}");
    assert_eq!(
        at("diacritics", 1.0)
            .apply("\u{301} Kano", "q", 0, None)
            .unwrap(),
        "Kano"
    );
}

proptest! {
    #[test]
    fn any_text_any_rate_gives_words_of_the_text_or_edits(
        text in "[a-zA-Zàáèéẹọṣ̀́ɓɗƙ?,. ]{0,60}",
        rate in 0.0f64..=1.0,
        seed in 0u64..1000,
    ) {
        let n = at("typo+diacritics+case+punctuation+drop", rate);
        let out = n.apply(&text, "k", seed, None).unwrap();
        // Never more words than the input, never an empty query from a non-empty one.
        let words_in = text.split_whitespace().count();
        let words_out = out.split_whitespace().count();
        prop_assert!(words_out <= words_in.max(1));
        if words_in > 0 {
            prop_assert!(words_out >= 1);
        }
        prop_assert_eq!(&out, &n.apply(&text, "k", seed, None).unwrap());
    }
}
