#!/usr/bin/env python3
"""Reference co-occurrence counts for crates/cooc, written with collections.Counter.

Reads the first N sentence pairs of FLORES-200 dev hau_Latn (source) / eng_Latn (target) from
../shared/data (or $DATA), tokenises them with the crate's word rules (lower-case; punctuation
split: a word character is str.isalnum() or a combining mark in U+0300-036F, U+1AB0-1AFF,
U+1DC0-1DFF, U+20D0-20FF, U+FE20-FE2F; every other non-space character is its own token),
counts every distinct (source type, target type) once per pair, and writes
crates/cooc/tests/fixtures/flores_dev_hau_eng.tsv:

    #\tn_pairs\tN             #\tnnz\t<distinct pairs>     #\ttotal\t<sum of pair counts>
    S\t<word>\t<c(s)>         T\t<word>\t<c(t)>             (all marginals)
    C\t<src>\t<tgt>\t<c(s,t)> (every pair with c(s,t) >= 2; pairs seen once are covered by nnz/total)

Usage: .venv/bin/python scripts/fixtures_cooc.py [N]
"""
import gzip
import os
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
COMBINING = [(0x300, 0x36F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F)]


def is_word_char(c):
    o = ord(c)
    return c.isalnum() or any(lo <= o <= hi for lo, hi in COMBINING)


def words(text):
    out = []
    for chunk in text.lower().split():
        cur = []
        for c in chunk:
            if is_word_char(c):
                cur.append(c)
            else:
                if cur:
                    out.append("".join(cur))
                    cur = []
                out.append(c)
        if cur:
            out.append("".join(cur))
    return out


def read(path, n):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [next(f).rstrip("\n").removeprefix("\ufeff") for _ in range(n)]


def main():
    base = os.path.join(DATA, "bitext", "flores200", "dev")
    src = read(os.path.join(base, "hau_Latn.dev.gz"), N)
    tgt = read(os.path.join(base, "eng_Latn.dev.gz"), N)
    joint, cs, ct = Counter(), Counter(), Counter()
    for s, t in zip(src, tgt):
        s_types, t_types = set(words(s)), set(words(t))
        cs.update(s_types)
        ct.update(t_types)
        joint.update((a, b) for a in s_types for b in t_types)
    out = os.path.join(ROOT, "crates", "cooc", "tests", "fixtures", "flores_dev_hau_eng.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"#\tn_pairs\t{N}\n#\tnnz\t{len(joint)}\n#\ttotal\t{sum(joint.values())}\n")
        for w, c in sorted(cs.items()):
            f.write(f"S\t{w}\t{c}\n")
        for w, c in sorted(ct.items()):
            f.write(f"T\t{w}\t{c}\n")
        for (a, b), c in sorted(joint.items()):
            if c >= 2:
                f.write(f"C\t{a}\t{b}\t{c}\n")
    print(f"wrote {out}: {N} pairs, {len(joint)} distinct pairs, {len(cs)}+{len(ct)} types")


if __name__ == "__main__":
    main()
