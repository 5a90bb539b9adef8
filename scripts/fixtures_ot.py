#!/usr/bin/env python3
"""Golden fixtures for crates/ot-core, produced by POT (ot 0.9.6) and PyTorch.

Run from the repository root:  .venv/bin/python scripts/fixtures_ot.py
Writes crates/ot-core/tests/fixtures/pot.json (Sinkhorn plans, unbalanced plans, EMD costs)
and crates/ot-core/tests/fixtures/torch_grad.json (autograd through unrolled log-domain
Sinkhorn). Small, deterministic (seeded), committed.
"""
import json
import pathlib

import numpy as np
import ot
import torch

OUT = pathlib.Path("crates/ot-core/tests/fixtures")
rng = np.random.default_rng(20261122)


def simplex(n):
    w = rng.uniform(0.2, 1.0, n)
    return w / w.sum()


def sinkhorn_cases():
    cases = []
    # (m, n, eps, dtype): odd shapes, eps from 1e-3 to 1, costs in [0, 1].
    specs = [
        (1, 4, 0.1, "f64"),
        (7, 5, 1.0, "f64"),
        (7, 5, 0.1, "f64"),
        (13, 11, 0.05, "f64"),
        (30, 17, 0.01, "f64"),
        (6, 9, 1e-3, "f64"),
        (9, 6, 0.1, "f32"),
        (20, 23, 0.05, "f32"),
    ]
    for m, n, eps, dtype in specs:
        x = rng.normal(size=(m, 2))
        y = rng.normal(size=(n, 2)) + 0.3
        cost = ot.dist(x, y)
        cost = cost / cost.max()
        a, b = simplex(m), simplex(n)
        if dtype == "f32":
            c32, a32, b32 = (v.astype(np.float32) for v in (cost, a, b))
            a32 = a32 / a32.sum()
            b32 = b32 / b32.sum()
            plan = ot.sinkhorn(a32, b32, c32, eps, method="sinkhorn_log", numItermax=200000,
                               stopThr=1e-7)
            cost, a, b = c32.astype(np.float64), a32.astype(np.float64), b32.astype(np.float64)
        else:
            plan = ot.sinkhorn(a, b, cost, eps, method="sinkhorn_log", numItermax=200000,
                               stopThr=1e-14)
        cases.append(dict(m=m, n=n, eps=eps, dtype=dtype, cost=cost.ravel().tolist(),
                          a=a.tolist(), b=b.tolist(), plan=np.asarray(plan, np.float64).ravel().tolist(),
                          transport_cost=float(np.sum(plan * cost))))
    return cases


def unbalanced_cases():
    cases = []
    for m, n, eps, reg_m in [(5, 8, 0.1, 1.0), (12, 7, 0.05, 0.5)]:
        cost = rng.uniform(0, 1, size=(m, n))
        a, b = simplex(m), 1.5 * simplex(n)
        plan = ot.unbalanced.sinkhorn_unbalanced(a, b, cost, eps, reg_m, method="sinkhorn",
                                                 numItermax=100000, stopThr=1e-15)
        cases.append(dict(m=m, n=n, eps=eps, reg_m=reg_m, cost=cost.ravel().tolist(),
                          a=a.tolist(), b=b.tolist(), plan=plan.ravel().tolist()))
    return cases


def emd_cases():
    cases = []
    for m, n in [(3, 3), (8, 5), (17, 23), (60, 45), (120, 120)]:
        x = rng.normal(size=(m, 3))
        y = rng.normal(size=(n, 3))
        cost = ot.dist(x, y)
        a, b = simplex(m), simplex(n)
        value = ot.emd2(a, b, cost, numItermax=10_000_000)
        cases.append(dict(m=m, n=n, cost=cost.ravel().tolist(), a=a.tolist(), b=b.tolist(),
                          value=float(value)))
    return cases


def torch_grad_case():
    """Autograd of <P, C> through `iters` log-domain iterations in the ot-core order
    (g from f = 0 first, then f)."""
    torch.set_default_dtype(torch.float64)
    m, n, eps, iters = 6, 5, 0.1, 60
    cost = torch.tensor(rng.uniform(0, 1, size=(m, n)), requires_grad=True)
    a = torch.tensor(simplex(m))
    b = torch.tensor(simplex(n))
    la, lb = a.log(), b.log()
    f = torch.zeros(m)
    g = torch.zeros(n)
    for _ in range(iters):
        g = -eps * torch.logsumexp(la[:, None] + (f[:, None] - cost) / eps, dim=0)
        f = -eps * torch.logsumexp(lb[None, :] + (g[None, :] - cost) / eps, dim=1)
    plan = torch.exp(la[:, None] + lb[None, :] + (f[:, None] + g[None, :] - cost) / eps)
    loss = (plan * cost).sum()
    (grad,) = torch.autograd.grad(loss, cost)
    return dict(m=m, n=n, eps=eps, iters=iters, cost=cost.detach().ravel().tolist(),
                a=a.tolist(), b=b.tolist(), plan=plan.detach().ravel().tolist(),
                loss=float(loss), grad=grad.ravel().tolist())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    pot = dict(pot_version=ot.__version__, sinkhorn=sinkhorn_cases(),
               unbalanced=unbalanced_cases(), emd=emd_cases())
    (OUT / "pot.json").write_text(json.dumps(pot))
    (OUT / "torch_grad.json").write_text(json.dumps(dict(torch_version=torch.__version__,
                                                         unrolled=torch_grad_case())))
    print("wrote", OUT / "pot.json", OUT / "torch_grad.json")


if __name__ == "__main__":
    main()
