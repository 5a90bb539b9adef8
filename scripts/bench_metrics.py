#!/usr/bin/env python3
"""Speed of clir-metrics' `trec_eval` example against pytrec_eval and trec_eval 9.0.8 (C).

Generates synthetic TREC runs (3,000 queries x 1,000 docs and 10,000 x 1,000; random scores
with ties, ~100 graded judgements per query of which half are retrieved), then times end to
end, in this one run:
  - the release `trec_eval` example (reading, parsing, evaluating, printing);
  - pytrec_eval 0.5.10 (parsing with pytrec_eval.parse_qrel/parse_run, evaluating), 3k only;
  - trec_eval 9.0.8 built from source, if --trec-eval PATH (or $TREC_EVAL) is given,
and checks that the Rust and C outputs agree line for line. Reports medians of several runs
and ratios of wall and CPU (user + sys) time; with
--write-results, replaces the clir-metrics section of docs/results.md.

  cargo build --release --example trec_eval
  .venv/bin/python scripts/bench_metrics.py --trec-eval /path/to/trec_eval --write-results
"""
import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M6 = ["map", "ndcg", "ndcg_cut.10", "P.10", "recall.100", "recip_rank"]
M7 = M6 + ["bpref"]


def generate(path_qrels, path_run, n_queries, n_docs, seed):
    if os.path.exists(path_qrels) and os.path.exists(path_run):
        return
    rng = np.random.default_rng(seed)
    with open(path_run + ".tmp", "w") as run, open(path_qrels + ".tmp", "w") as qrels:
        for q in range(n_queries):
            qid = f"q{q}"
            # Unique docnos per query: one per stride.
            docs = np.arange(n_docs) * 5000 + rng.integers(0, 5000, n_docs)
            # Three decimals: ties happen, as in real runs.
            scores = np.round(rng.normal(10.0, 3.0, n_docs), 3)
            ranks = np.argsort(-scores, kind="stable") + 1
            run.write("".join(f"{qid} Q0 D{d} {r} {s:.3f} bench\n"
                              for d, r, s in zip(docs.tolist(), ranks.tolist(), scores.tolist())))
            judged = rng.choice(docs, 50, replace=False).tolist()
            judged += (np.arange(50) * 7 + 5_000_000 + rng.integers(0, 7, 50)).tolist()
            labels = rng.choice([0, 0, 0, 1, 1, 2, 3], len(judged)).tolist()
            qrels.write("".join(f"{qid} 0 D{d} {l}\n" for d, l in zip(judged, labels)))
    os.replace(path_run + ".tmp", path_run)
    os.replace(path_qrels + ".tmp", path_qrels)


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd):
    """Wall and CPU (user + sys) seconds of one run of `cmd`, and its stdout."""
    c = cpu_children()
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, cpu_children() - c, out


def median_of(n, cmd):
    """Median wall and CPU seconds over `n` runs (the machine is shared: single runs are noise)."""
    walls, cpus, out = [], [], None
    for _ in range(n):
        w, c, out = timed(cmd)
        walls.append(w)
        cpus.append(c)
    return float(np.median(walls)), float(np.median(cpus)), out


def pytrec(qrels_path, run_path, measures):
    import pytrec_eval
    t = time.perf_counter()
    c = time.process_time()
    with open(qrels_path) as f:
        qrels = pytrec_eval.parse_qrel(f)
    with open(run_path) as f:
        run = pytrec_eval.parse_run(f)
    ev = pytrec_eval.RelevanceEvaluator(qrels, set(measures))
    res = ev.evaluate(run)
    return time.perf_counter() - t, time.process_time() - c, res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
        "release", "examples", "trec_eval"))
    ap.add_argument("--trec-eval", default=os.environ.get("TREC_EVAL"))
    ap.add_argument("--data", default="/tmp/clir_metrics_bench")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each binary (median)")
    ap.add_argument("--py-repeat", type=int, default=3, help="runs of pytrec_eval (median)")
    ap.add_argument("--write-results", action="store_true")
    ap.add_argument("--label", default="cargo build --release --example trec_eval",
                    help="how the timed binary was built, printed with the figures")
    args = ap.parse_args()
    os.makedirs(args.data, exist_ok=True)
    load_start = os.getloadavg()[0]
    rows = []
    for n_q, measures, with_py in ((3000, M6, True), (10000, M7, False)):
        qp = os.path.join(args.data, f"{n_q}.qrels")
        rp = os.path.join(args.data, f"{n_q}.run")
        generate(qp, rp, n_q, 1000, seed=n_q)
        mflags = [x for m in measures for x in ("-m", m)]
        size = os.path.getsize(rp) / 1e6
        t_rs, cpu_rs, out_rs = median_of(args.repeat, [args.bin, *mflags, qp, rp])
        row = {"queries": n_q, "measures": len(measures), "mb": size, "rust": t_rs,
               "rust_cpu": cpu_rs,
               "cmd": f"trec_eval {' '.join(mflags)} QRELS RUN"}
        if args.trec_eval:
            t_c, cpu_c, out_c = median_of(args.repeat, [args.trec_eval, *mflags, qp, rp])
            row["c"] = t_c
            row["c_cpu"] = cpu_c
            same = out_c == out_rs
            row["c_agrees"] = same
            if not same:
                print("WARNING: outputs differ\n", out_c, "\n", out_rs, file=sys.stderr)
        if with_py:
            runs = [pytrec(qp, rp, measures) for _ in range(args.py_repeat)]
            res = runs[-1][2]
            row["py"] = float(np.median([r[0] for r in runs]))
            row["py_cpu"] = float(np.median([r[1] for r in runs]))
            m = np.mean([v["map"] for v in res.values()])
            ours = float(re.search(r"^map\s+\tall\t(\S+)", out_rs, re.M).group(1))
            row["py_agrees"] = abs(m - ours) < 1e-4
        rows.append(row)
        print(row, flush=True)
    cpu = platform.processor() or platform.machine()
    load = os.getloadavg()[0]
    lines = [f"Synthetic runs (1,000 docs per query, ~100 graded judgements per query), "
             f"{os.cpu_count()}-CPU machine ({cpu}) shared with other jobs, load average "
             f"{load_start:.1f} when the bench started and {load:.1f} when it ended (wall times "
             f"are inflated and noisy; CPU = user + sys seconds is the steadier figure); medians "
             f"of {args.repeat} runs for the binaries and of {args.py_repeat} for pytrec_eval; "
             f"end to end (read, parse, evaluate, print). Binary: `{args.label}`.",
             "",
             "| queries | measures | run size | clir-metrics wall / CPU | trec_eval 9.0.8 (C) wall / CPU | pytrec_eval 0.5.10 wall / CPU | vs C: wall / CPU | vs pytrec_eval: wall / CPU |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        c = f"{r['c']:.2f} / {r['c_cpu']:.2f} s" if "c" in r else "–"
        py = f"{r['py']:.2f} / {r['py_cpu']:.2f} s" if "py" in r else "–"
        vc = (f"{r['c'] / r['rust']:.2f}× / {r['c_cpu'] / r['rust_cpu']:.2f}×"
              if "c" in r else "–")
        vp = (f"{r['py'] / r['rust']:.2f}× / {r['py_cpu'] / r['rust_cpu']:.2f}×"
              if "py" in r else "–")
        lines.append(f"| {r['queries']:,} | {r['measures']} | {r['mb']:.0f} MB | "
                     f"{r['rust']:.2f} / {r['rust_cpu']:.2f} s | {c} | {py} | {vc} | {vp} |")
    agree = all(r.get("c_agrees", True) for r in rows)
    lines += ["", f"Output identical to trec_eval 9.0.8's: {agree}. Measures: "
              f"`{' '.join(M6)}` (+ `bpref` for 10,000).",
              "", "Command: `.venv/bin/python " + " ".join(
                  a if not a.startswith("/tmp/") else f"'{a}'" for a in sys.argv) + "`"]
    text = "\n".join(lines)
    print(text)
    if args.write_results:
        path = os.path.join(ROOT, "docs", "results.md")
        doc = open(path).read()
        doc = re.sub(r"(<!-- BEGIN clir-metrics -->\n).*?(<!-- END clir-metrics -->)",
                     lambda m: m.group(1) + text + "\n" + m.group(2), doc, flags=re.S)
        with open(path + ".tmp", "w") as f:
            f.write(doc)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
