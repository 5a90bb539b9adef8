#!/usr/bin/env python3
"""Peer bench of ot-core against POT 0.9.6, measured in one run; prints ratios.

Run from the repository root (after `cargo build --release -p ot-core --example ot_timing`):
    .venv/bin/python scripts/bench_ot.py [--repeats 3]

Cases (float32, eps = 0.05, exactly 100 iterations, fresh random costs in [0, 1) and
non-uniform marginals):
  log512   : one 512 x 512 problem, log domain     vs ot.sinkhorn(method="sinkhorn_log")
  batch    : 256 problems of 32 x 32, log domain  vs ot.solve_batch(solver="log_sinkhorn")
  kernel2048: one 2048 x 2048 problem, kernel space vs ot.sinkhorn(method="sinkhorn")
"Whole process" = wall time of a fresh process that loads the .npy files, solves, and exits
(interpreter start and `import ot` included for POT); "solve" = the solve alone, timed inside.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BIN = TARGET / "release" / "examples" / "ot_timing"
PY = sys.executable

POT_SNIPPET = r"""
import json, sys, time
import numpy as np
import ot
d, case = sys.argv[1], sys.argv[2]
M = np.load(d + "/cost.npy"); a = np.load(d + "/a.npy"); b = np.load(d + "/b.npy")
t = time.perf_counter()
if case == "batch":
    res = ot.solve_batch(M, 0.05, a, b, max_iter=100, tol=0.0, solver="log_sinkhorn")
    cost = float(np.asarray(res.value_linear)[0])
elif case == "kernel2048":
    P = ot.sinkhorn(a, b, M, 0.05, method="sinkhorn", numItermax=100, stopThr=0.0)
    cost = float((P * M).sum())
else:
    P = ot.sinkhorn(a, b, M, 0.05, method="sinkhorn_log", numItermax=100, stopThr=0.0)
    cost = float((P * M).sum())
print(json.dumps({"seconds": time.perf_counter() - t, "transport_cost": cost}))
"""


def make(d, shape, rng):
    cost = rng.random(shape, dtype=np.float32)
    lead = shape[:-1]
    a = rng.uniform(0.5, 1.0, size=lead).astype(np.float32)
    b = rng.uniform(0.5, 1.0, size=shape[:-2] + shape[-1:]).astype(np.float32)
    a /= a.sum(-1, keepdims=True)
    b /= b.sum(-1, keepdims=True)
    for name, x in (("cost", cost), ("a", a), ("b", b)):
        np.save(d / f"{name}.npy", x)


def run(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    return wall, json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not BIN.exists():
        sys.exit(f"build it first: cargo build --release -p ot-core --example ot_timing ({BIN})")
    rng = np.random.default_rng(0)
    cases = [("log512", (512, 512), "log"), ("batch", (256, 32, 32), "log"),
             ("kernel2048", (2048, 2048), "kernel")]
    print(f"ot-core vs POT {subprocess.run([PY, '-c', 'import ot; print(ot.__version__)'], capture_output=True, text=True).stdout.strip()}, "
          f"{os.cpu_count()} CPUs, best of {args.repeats}")
    print("| case | ot-core process (s) | POT process (s) | ratio | ot-core solve (s) | POT solve (s) | ratio | |cost diff| |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape, method in cases:
            d = pathlib.Path(tmp) / name
            d.mkdir()
            make(d, shape, rng)
            ours = [run([str(BIN), str(d), method, "100"]) for _ in range(args.repeats)]
            pot = [run([PY, "-c", POT_SNIPPET, str(d), name]) for _ in range(args.repeats)]
            ow, ps = min(w for w, _ in ours), min(w for w, _ in pot)
            osv, psv = min(r["seconds"] for _, r in ours), min(r["seconds"] for _, r in pot)
            diff = abs(ours[0][1]["transport_cost"] - pot[0][1]["transport_cost"])
            print(f"| {name} {shape} | {ow:.3f} | {ps:.3f} | {ps / ow:.1f}x | {osv:.4f} | {psv:.4f} | "
                  f"{psv / osv:.1f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
