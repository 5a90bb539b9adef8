#!/usr/bin/env python3
"""Counting speed: `cooc count` (Rust) vs the best Python pipeline (scipy.sparse incidence
product), measured in one run on the same synthetic 1M-pair bitext.

The bitext: every English-Hausa pair of FLORES-200 dev, NTREX-128 and LAFAND en-hau
(train+dev+test) from ../shared/data, repeated until N pairs (default 1,000,000); every copy after
the first is perturbed with a fixed seed: each whitespace token is dropped with probability 0.1
and one random adjacent pair of tokens is swapped, on each side independently. Written as plain
text to $TMPDIR/cooc_bench/{src,tgt}.txt (never committed).

Both pipelines start from those files and end with sentence-level co-occurrence counts and
marginals in memory. Python: regex word tokens with the crate's rule (lower-case, alphanumeric
runs plus combining marks, every other non-space character its own token), a dict vocabulary,
binary incidence matrices X (pairs x src types) and Y (pairs x tgt types) as scipy CSR with
duplicates summed and set to 1, then C = X.T @ Y. Rust: `cooc count` in word mode, wall clock of
the whole process (reading, tokenising, counting, saving).

Alignment quality (`aer` subcommand): a synthetic corpus with known alignment (20,000 pairs,
2,000-word Zipf vocabulary, a bijective lexicon, 10% of source words translated by two target
words, source deletions and target insertions with probability 0.08 each, adjacent swaps with
probability 0.3), aligned by `cooc align` (several measures and methods) and by eflomal (PyPI
`eflomal`, default model 3: forward, reverse and their intersection); AER against the gold links.

Repeats (`--repeat R`, default 3) alternate Rust and Python on the same files; the script prints
every run, the medians, the ratio of the medians (wall and CPU = user + sys), and the load
average before and after, since a shared machine inflates wall times.

Usage: .venv/bin/python scripts/bench_cooc.py [N] [--repeat R] [--write-results]
       (builds the example first; --write-results replaces the cooc-speed section of
       docs/results.md)
       .venv/bin/python scripts/bench_cooc.py aer
"""
import gzip
import os
import random
import resource
import statistics
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data"))
N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
TOKEN = re.compile(
    r"(?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+|\S"
)


def lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").removeprefix("\ufeff") for line in f]


def base_pairs():
    b = os.path.join(DATA, "bitext")
    pairs = list(zip(lines(f"{b}/flores200/dev/eng_Latn.dev.gz"), lines(f"{b}/flores200/dev/hau_Latn.dev.gz")))
    pairs += zip(lines(f"{b}/ntrex128/newstest2019-src.eng.txt.gz"), lines(f"{b}/ntrex128/newstest2019-ref.hau.txt.gz"))
    for split in ("train", "dev", "test"):
        pairs += zip(lines(f"{b}/lafand/en-hau/{split}.en.gz"), lines(f"{b}/lafand/en-hau/{split}.hau.gz"))
    return pairs


def perturb(text, rng):
    toks = [t for t in text.split() if rng.random() >= 0.1] or text.split()[:1]
    if len(toks) > 1:
        i = rng.randrange(len(toks) - 1)
        toks[i], toks[i + 1] = toks[i + 1], toks[i]
    return " ".join(toks)


def synthesise(out_dir):
    src_path, tgt_path = os.path.join(out_dir, "src.txt"), os.path.join(out_dir, "tgt.txt")
    if os.path.exists(tgt_path) and sum(1 for _ in open(tgt_path, encoding="utf-8")) == N:
        return src_path, tgt_path
    base = base_pairs()
    rng = random.Random(0)
    with open(src_path, "w", encoding="utf-8") as fs, open(tgt_path, "w", encoding="utf-8") as ft:
        for k in range(N):
            s, t = base[k % len(base)]
            if k >= len(base):
                s, t = perturb(s, rng), perturb(t, rng)
            fs.write(s.replace("\n", " ") + "\n")
            ft.write(t.replace("\n", " ") + "\n")
    print(f"synthesised {N} pairs from {len(base)} real en-hau pairs")
    return src_path, tgt_path


def incidence(path):
    vocab, rows, cols = {}, [], []
    get = vocab.setdefault
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            ids = [get(w, len(vocab)) for w in TOKEN.findall(line.lower())]
            rows.extend([i] * len(ids))
            cols.extend(ids)
    n = i + 1
    x = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (np.asarray(rows), np.asarray(cols))),
        shape=(n, len(vocab)),
    )
    x.sum_duplicates()
    x.data[:] = 1
    return x


def python_pipeline(src, tgt):
    c0 = time.process_time()
    t0 = time.perf_counter()
    x, y = incidence(src), incidence(tgt)
    t1 = time.perf_counter()
    c = (x.T.tocsr() @ y).tocsr()
    src_m, tgt_m = np.asarray(x.sum(axis=0)).ravel(), np.asarray(y.sum(axis=0)).ravel()
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    return t2 - t0, t2 - t1, cpu, c.nnz, int(c.sum()), len(src_m), len(tgt_m)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def synthetic_alignment_corpus(out_dir, n_pairs=20_000, vocab=2_000, seed=1):
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) for r in range(vocab)]
    two = set(rng.sample(range(vocab), vocab // 10))
    fillers = [f"f{k}" for k in range(20)]
    src_lines, tgt_lines, gold = [], [], []
    for _ in range(n_pairs):
        m = rng.randint(5, 25)
        words = rng.choices(range(vocab), weights, k=m)
        tgt = []  # (word, source position or None)
        for i, w in enumerate(words):
            if rng.random() < 0.08:
                continue  # deleted in translation
            tgt.append((f"t{w}", i))
            if w in two:
                tgt.append((f"u{w}", i))
            if rng.random() < 0.08:
                tgt.append((rng.choice(fillers), None))
        for k in range(len(tgt) - 1):
            if rng.random() < 0.3:
                tgt[k], tgt[k + 1] = tgt[k + 1], tgt[k]
        src_lines.append(" ".join(f"s{w}" for w in words))
        tgt_lines.append(" ".join(w for w, _ in tgt))
        gold.append(sorted((i, j) for j, (_, i) in enumerate(tgt) if i is not None))
    paths = [os.path.join(out_dir, f) for f in ("aer.src", "aer.tgt")]
    for path, lines_ in zip(paths, (src_lines, tgt_lines)):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines_) + "\n")
    return paths, gold


def read_links(path, reverse=False):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            links = set()
            for tok in line.split():
                i, j = map(int, tok.split("-"))
                links.add((j, i) if reverse else (i, j))
            out.append(links)
    return out


def aer(pred, gold):
    a = s = both = 0
    for p, g in zip(pred, gold):
        g = set(g)
        a += len(p)
        s += len(g)
        both += len(p & g)
    prec, rec = both / max(a, 1), both / max(s, 1)
    return prec, rec, 1 - 2 * both / max(a + s, 1)


def aer_main():
    out_dir = os.path.join(tempfile.gettempdir(), "cooc_aer")
    os.makedirs(out_dir, exist_ok=True)
    (src, tgt), gold = synthetic_alignment_corpus(out_dir)
    subprocess.run(["cargo", "build", "--release", "-p", "cooc", "--example", "cooc"], cwd=ROOT, check=True)
    exe = os.path.join(TARGET, "release", "examples", "cooc")
    stats = os.path.join(out_dir, "stats.cooc")
    subprocess.run([exe, "count", "--src", src, "--tgt", tgt, "--out", stats, "--quiet",
                    "--model1-iters", "5", "--diagonal"], check=True)
    rows = []
    configs = [("dice", "argmax"), ("dice", "competitive"), ("llr", "competitive"),
               ("phi2", "competitive"), ("model1", "argmax"), ("model1", "competitive")]
    configs += [(m, "sinkhorn") for m in ("dice", "model1")]
    for measure, method in configs:
        out = os.path.join(out_dir, f"cooc.{measure}.{method}")
        t0 = time.perf_counter()
        with open(out, "w") as f:
            r = subprocess.run([exe, "align", "--stats", stats, "--src", src, "--tgt", tgt,
                                "--measure", measure, "--method", method], stdout=f,
                               stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            print(f"cooc {measure}/{method}: {r.stderr.strip()}")
            continue
        rows.append((f"cooc {measure} + {method}", *aer(read_links(out), gold),
                     time.perf_counter() - t0))
    from eflomal import Aligner
    fwd, rev = os.path.join(out_dir, "eflomal.fwd"), os.path.join(out_dir, "eflomal.rev")
    t0 = time.perf_counter()
    with open(src, encoding="utf-8") as fs, open(tgt, encoding="utf-8") as ft:
        Aligner().align(fs, ft, links_filename_fwd=fwd, links_filename_rev=rev, quiet=True)
    secs = time.perf_counter() - t0
    f, r = read_links(fwd), read_links(rev)
    rows.append(("eflomal forward", *aer(f, gold), secs))
    rows.append(("eflomal reverse", *aer(r, gold), secs))
    rows.append(("eflomal intersection", *aer([a & b for a, b in zip(f, r)], gold), secs))
    print("| aligner | precision | recall | AER | seconds |\n|---|---|---|---|---|")
    for name, p, rc, e, t in rows:
        print(f"| {name} | {p:.3f} | {rc:.3f} | {e:.3f} | {t:.1f} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "aer":
        return aer_main()
    out_dir = os.path.join(tempfile.gettempdir(), "cooc_bench")
    os.makedirs(out_dir, exist_ok=True)
    src, tgt = synthesise(out_dir)
    subprocess.run(["cargo", "build", "--release", "-p", "cooc", "--example", "cooc"], cwd=ROOT, check=True)
    exe = os.path.join(TARGET, "release", "examples", "cooc")
    stats = os.path.join(out_dir, "stats.cooc")
    load0 = os.getloadavg()
    rust, rust_cpu, py, py_cpu, py_prod = [], [], [], [], []
    for r in range(REPEAT):
        c0 = children_cpu()
        t0 = time.perf_counter()
        run = subprocess.run(
            [exe, "count", "--src", src, "--tgt", tgt, "--out", stats, "--quiet"],
            check=True, capture_output=True, text=True,
        )
        rust.append(time.perf_counter() - t0)
        rust_cpu.append(children_cpu() - c0)
        print(f"run {r + 1} rust: {rust[-1]:.2f} s wall, {rust_cpu[-1]:.2f} s CPU; {run.stderr.strip()}")
        wall, prod, cpu, nnz, total, vs, vt = python_pipeline(src, tgt)
        py.append(wall)
        py_cpu.append(cpu)
        py_prod.append(prod)
        print(f"run {r + 1} python: {wall:.2f} s wall, {cpu:.2f} s CPU (incidence product + "
              f"marginals {prod:.2f} s); nnz {nnz}, sum of counts {total}, {vs} source and "
              f"{vt} target types", flush=True)
    load1 = os.getloadavg()
    med = statistics.median
    rw, rc, pw, pc, pp = med(rust), med(rust_cpu), med(py), med(py_cpu), med(py_prod)
    print(f"cores: {os.cpu_count()}; load average (1/5/15 min) before {load0[0]:.1f}/{load0[1]:.1f}/"
          f"{load0[2]:.1f}, after {load1[0]:.1f}/{load1[1]:.1f}/{load1[2]:.1f}; {REPEAT} runs each")
    print(f"median rust {rw:.2f} s wall ({rc:.2f} s CPU) = {N / rw * 60:,.0f} pairs/min; "
          f"median python {pw:.2f} s wall ({pc:.2f} s CPU) = {N / pw * 60:,.0f} pairs/min")
    print(f"speed-up (python / rust, medians): {pw / rw:.1f}x wall, {pc / rc:.1f}x CPU end to end; "
          f"{pp / rw:.1f}x vs the scipy product step alone (wall)")
    if "--write-results" in sys.argv:
        command = " ".join(["CARGO_TARGET_DIR=<target>", ".venv/bin/python", "scripts/bench_cooc.py",
                            *sys.argv[1:]])
        text = (
            f"{N:,} synthetic sentence pairs (see the script), {os.cpu_count()}-CPU machine, load "
            f"average {load0[0]:.1f} before and {load1[0]:.1f} after; medians of {REPEAT} "
            "alternating runs each; CPU = user + sys seconds.\n\n"
            "| pipeline | wall | CPU | pairs / minute |\n|---|---:|---:|---:|\n"
            f"| `cooc count` (Rust, whole process: read, tokenise, count, save) | {rw:.2f} s | "
            f"{rc:.2f} s | {N / rw * 60:,.0f} |\n"
            f"| Python: regex tokens + dict vocabulary + scipy.sparse `X.T @ Y` | {pw:.2f} s | "
            f"{pc:.2f} s | {N / pw * 60:,.0f} |\n"
            f"| of which the scipy incidence product + marginals | {pp:.2f} s | – | – |\n\n"
            f"Speed-up, end to end: **{pw / rw:.1f}× wall**, {pc / rc:.1f}× CPU.\n\n"
            f"Command: `{command}`\n"
        )
        path = os.path.join(ROOT, "docs", "results.md")
        doc = open(path, encoding="utf-8").read()
        begin, end = "<!-- BEGIN cooc-speed -->\n", "<!-- END cooc-speed -->"
        if begin not in doc:
            sys.exit(f"{path} has no {begin.strip()} ... {end} section")
        doc = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                     lambda m: begin + text + end, doc, flags=re.S)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(doc)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
