#!/usr/bin/env python3
"""Golden fixtures for clir-metrics, from pytrec_eval (trec_eval 9.0.8) and scipy.

Writes crates/clir-metrics/tests/fixtures/{nasty.qrels,nasty.run,trec_eval_golden.json,
stats_golden.json}, and, when TREC_EVAL names a trec_eval 9.0.8 binary built from source
(github.com/usnistgov/trec_eval, tag v9.0.8, `make`), its printed output for several flag sets
(trec_eval_text.json). Run: TREC_EVAL=/path/to/trec_eval .venv/bin/python scripts/fixtures_metrics.py
"""
import subprocess
import json
import math
import os
import random

import numpy as np
import pytrec_eval
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "clir-metrics", "tests", "fixtures")
MEASURES = {"num_q", "num_ret", "num_rel", "num_rel_ret", "map", "gm_map", "Rprec", "bpref",
            "recip_rank", "iprec_at_recall", "P", "recall", "infAP", "ndcg", "ndcg_cut",
            "map_cut", "success", "set_P", "set_recall", "set_F", "gm_bpref", "Rprec_mult",
            "utility", "11pt_avg", "binG", "G", "ndcg_rel", "Rndcg", "relative_P", "set_relative_P", "set_map",
            "num_nonrel_judged_ret"}


def nasty(rng):
    qrels, run = {}, {}
    # Ties and byte-order docnos.
    qrels["q1"] = {"d9": 1, "d10": 0, "D1": 2, "d1": 1, "d_x": 0}
    run["q1"] = {"d9": 1.0, "d10": 1.0, "D1": 1.0, "d1": 0.5, "d_x": 0.5, "u1": 1.0, "u2": 0.25}
    # Negative labels and graded levels.
    qrels["q2"] = {"a": -1, "b": -2, "c": 3, "d": 2, "e": 1, "f": 0, "g": 0, "h": 2}
    run["q2"] = {"a": 9.0, "b": 8.0, "c": 7.0, "x": 6.5, "d": 6.0, "f": 5.0, "e": 4.0, "g": 3.0}
    # Judged, but nothing relevant.
    qrels["q3"] = {"a": 0, "b": 0, "c": -1}
    run["q3"] = {"a": 1.0, "b": 2.0, "z": 3.0}
    # Judged only, not in the run (counts with -c only).
    qrels["q4"] = {"a": 1, "b": 2}
    # In the run only (ignored).
    run["q5"] = {"a": 1.0, "b": 0.5}
    # Huge ranks: relevant documents deep in a 1500-document ranking.
    qrels["q6"] = {f"doc{i}": (1 if i % 97 == 3 else 0) for i in range(0, 1500, 7)}
    run["q6"] = {f"doc{i}": 1500.0 - i for i in range(1500)}
    # Mostly unjudged documents.
    qrels["q7"] = {"r1": 1, "r2": 1, "n1": 0}
    run["q7"] = {**{f"u{i}": 100.0 - i for i in range(40)}, "r1": 70.0, "n1": 80.0, "r2": 1.0}
    # Random queries with heavy ties.
    for q in range(20):
        qid = f"r{q:02d}"
        n = rng.randint(1, 60)
        docs = [f"D{rng.randint(0, 80)}" for _ in range(n)]
        docs = list(dict.fromkeys(docs))
        run[qid] = {d: float(rng.choice([0.5, 1.0, 1.5, 2.0, rng.random()])) for d in docs}
        pool = docs[: rng.randint(0, len(docs))] + [f"J{i}" for i in range(rng.randint(0, 5))]
        qrels[qid] = {d: rng.choice([-1, 0, 0, 0, 1, 1, 2, 3]) for d in pool}
        if not qrels[qid]:
            qrels[qid] = {"only": 0}
    return qrels, run


def trec_sorted(ranking):
    # trec_eval order: score descending, then docno descending (byte order).
    by_docno = sorted(ranking.items(), key=lambda kv: kv[0].encode(), reverse=True)
    return sorted(by_docno, key=lambda kv: -kv[1])


def extras(qrels, run, level):
    """RR@10, nDCG(dcg='exp-log2')@10 and judged_10, written out independently of the crate."""
    out = {}
    for qid in qrels:
        if qid not in run:
            continue
        ranked = [d for d, _ in trec_sorted(run[qid])]
        labels = [qrels[qid].get(d) for d in ranked]
        rr = next((1.0 / (i + 1) for i, l in enumerate(labels[:10]) if l is not None and l >= level), 0.0)
        gain = lambda l: 2.0 ** l - 1.0
        dcg = sum(gain(l) / math.log2(i + 2) for i, l in enumerate(labels[:10]) if l is not None and l > 0)
        ideal = sorted((l for l in qrels[qid].values() if l > 0), reverse=True)[:10]
        idcg = sum(gain(l) / math.log2(i + 2) for i, l in enumerate(ideal))
        top = labels[:10]
        out[qid] = {"RR@10": rr, "nDCG(dcg='exp-log2')@10": dcg / idcg if idcg > 0 else 0.0,
                    "judged_10": sum(l is not None for l in top) / len(top) if top else 0.0}
    return out


def trec_golden(qrels, run):
    cases = []
    for level in (1, 2):
        for judged in (False, True):
            for max_rank in (None, 5):
                r = run if max_rank is None else {q: dict(trec_sorted(v)[:max_rank]) for q, v in run.items()}
                ev = pytrec_eval.RelevanceEvaluator(qrels, MEASURES, relevance_level=level,
                                                    judged_docs_only_flag=judged)
                values = ev.evaluate(r)
                if not judged:
                    for qid, ex in extras(qrels, r, level).items():
                        values[qid].update(ex)
                cases.append({"relevance_level": level, "judged_only": judged,
                              "max_rank": max_rank, "values": values})
    return cases


def stats_golden(rng):
    cases = []
    sizes = [5, 8, 12, 25, 30, 60]
    for i, n in enumerate(sizes):
        a = np.array([rng.random() for _ in range(n)])
        b = a + np.array([rng.gauss(0.03, 0.1) for _ in range(n)])
        if i % 2 == 1:
            # Ties and zero differences, as real per-query scores have.
            a = np.round(a, 1)
            b = np.round(b, 1)
            b[0] = a[0]
        t = stats.ttest_rel(b, a)
        w = stats.wilcoxon(b, a)
        d = b - a
        case = {"a": a.tolist(), "b": b.tolist(), "t_statistic": float(t.statistic),
                "t_pvalue": float(t.pvalue), "wilcoxon_statistic": float(w.statistic),
                "wilcoxon_pvalue": float(w.pvalue),
                "cohen_d": float(d.mean() / d.std(ddof=1))}
        if n <= 12:
            perm = stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis),
                                          permutation_type="samples", n_resamples=np.inf)
            case["randomization_pvalue"] = float(perm.pvalue)
        cases.append(case)
    pvals = [0.01, 0.04, 0.03, 0.2, 0.005]
    holm = [min(1.0, x) for x in _holm(pvals)]
    bonf = [min(1.0, p * len(pvals)) for p in pvals]
    return {"scipy": scipy.__version__, "cases": cases,
            "corrections": {"p": pvals, "holm": holm, "bonferroni": bonf}}


def _holm(p):
    # Holm step-down adjusted p-values (statsmodels' multipletests(method="holm")).
    order = sorted(range(len(p)), key=lambda i: p[i])
    m = len(p)
    adj = [0.0] * m
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, (m - k) * p[i])
        adj[i] = min(1.0, running)
    return adj


def main():
    rng = random.Random(20260522)
    qrels, run = nasty(rng)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "nasty.qrels"), "w") as f:
        for qid, docs in qrels.items():
            for d, l in docs.items():
                f.write(f"{qid} 0 {d} {l}\n")
    with open(os.path.join(OUT, "nasty.run"), "w") as f:
        for qid, docs in run.items():
            for rank, (d, s) in enumerate(rng.sample(list(docs.items()), len(docs))):
                f.write(f"{qid} Q0 {d} {rank + 1} {s!r} nasty\n")
    with open(os.path.join(OUT, "trec_eval_golden.json"), "w") as f:
        # NaN (trec_eval's 0/0 in iprec_at_recall on an empty ranking) is written as null.
        cases = trec_golden(qrels, run)
        for c in cases:
            for vals in c["values"].values():
                for k, v in vals.items():
                    if isinstance(v, float) and math.isnan(v):
                        vals[k] = None
        json.dump({"pytrec_eval": "0.5.10 (trec_eval 9.0.8)", "cases": cases}, f)
    binary = os.environ.get("TREC_EVAL")
    if binary:
        flag_sets = [[], ["-q"], ["-c"], ["-q", "-m", "all_trec"], ["-c", "-m", "all_trec"],
                     ["-q", "-l", "2", "-m", "all_trec"], ["-q", "-J", "-m", "all_trec"],
                     ["-q", "-M", "5", "-m", "all_trec"], ["-c", "-J", "-M", "3", "-m", "all_trec"]]
        text = []
        for flags in flag_sets:
            out = subprocess.run([binary, *flags, os.path.join(OUT, "nasty.qrels"),
                                  os.path.join(OUT, "nasty.run")],
                                 check=True, capture_output=True, text=True).stdout
            text.append({"flags": flags, "output": out})
        with open(os.path.join(OUT, "trec_eval_text.json"), "w") as f:
            json.dump({"trec_eval": "9.0.8 built from source", "runs": text}, f, indent=1)
    with open(os.path.join(OUT, "stats_golden.json"), "w") as f:
        json.dump(stats_golden(rng), f, indent=1)


if __name__ == "__main__":
    main()
