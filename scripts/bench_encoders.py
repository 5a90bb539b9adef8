#!/usr/bin/env python3
"""clir-encoders vs transformers: CPU forward (batch 32, length 128) and one training step
(forward with dropout, mean-square loss on mean-pooled vectors, backward, AdamW) on the same
libtorch (2.11) and the same thread count, measured in one run; prints both and the ratios.

    .venv/bin/python scripts/bench_encoders.py [--threads N] [--model models/all-MiniLM-L6-v2]

The Rust side is the criterion bench `crates/clir-encoders/benches/encoders.rs`, run through
`cargo bench` (CARGO_TARGET_DIR is honoured) and read back from criterion's estimates.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_side(model_dir, threads, reps):
    import torch
    from transformers import AutoModel

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = AutoModel.from_pretrained(model_dir, attn_implementation="sdpa")
    ids = torch.randint(5, m.config.vocab_size, (32, 128))
    ids[:, 0] = 0
    mask = torch.ones_like(ids)

    def forward():
        with torch.no_grad():
            h = m(input_ids=ids, attention_mask=mask).last_hidden_state
            return (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    opt = torch.optim.AdamW(m.parameters(), lr=1e-5, weight_decay=0.01)

    def step():
        h = m(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        loss = pooled.square().mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    def timed(f):
        f()
        best = []
        for _ in range(reps):
            t = time.perf_counter()
            f()
            best.append(time.perf_counter() - t)
        best.sort()
        return best[len(best) // 2]

    m.eval()
    fwd = timed(forward)
    m.train()
    trn = timed(step)
    return fwd, trn


def rust_side(model_dir, threads):
    env = dict(os.environ, BENCH_THREADS=str(threads), BENCH_MODEL=model_dir)
    target = env.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "bench", "-p", "clir-encoders", "--bench", "encoders", "--",
                    "--noplot"], cwd=ROOT, env=env, check=True)
    out = {}
    for name in ["forward", "train_step"]:
        p = os.path.join(target, "criterion", "tch_cpu", f"{name}_b=32,l=128", "new",
                         "estimates.json")
        with open(p) as f:
            out[name] = json.load(f)["median"]["point_estimate"] / 1e9
    return out["forward"], out["train_step"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--model", default=os.path.join(ROOT, "models/all-MiniLM-L6-v2"))
    ap.add_argument("--reps", type=int, default=10)
    a = ap.parse_args()
    model = os.path.realpath(a.model)
    name = os.path.basename(os.path.normpath(a.model))
    rf, rt = rust_side(model, a.threads)
    pf, pt = python_side(model, a.threads, a.reps)
    print(f"model {name}, batch 32 x 128 tokens, {a.threads} threads")
    print(f"forward     clir-encoders {rf * 1e3:8.1f} ms   transformers {pf * 1e3:8.1f} ms   "
          f"ratio (transformers / ours) {pf / rf:.2f}")
    print(f"train step  clir-encoders {rt * 1e3:8.1f} ms   transformers {pt * 1e3:8.1f} ms   "
          f"ratio (transformers / ours) {pt / rt:.2f}")


if __name__ == "__main__":
    sys.exit(main())
