"""Time forward + backward of the chapter's model in the reference engine (and in PyTorch's
autograd when torch is importable), at d=784, h=256, q=10 for batch sizes 1 and 64.

Usage: .venv/bin/python benchmarks/bench_engine.py [--repeats N] [--out PATH]
Writes a Markdown table to benchmarks/results/engine.md (machine and date included).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grader.engine as E  # noqa: E402

D, H, Q = 784, 256, 10
BATCHES = (1, 64)
LAM = 1e-3


def machine() -> str:
    """The CPU model name from lscpu (or the platform string), and the core count."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(
            line.split(":", 1)[1].strip()
            for line in out.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores"


def arrays(n: int, seed: int = 0) -> dict[str, np.ndarray | float]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((D, n)),
        "y": rng.standard_normal((Q, n)),
        "W1": rng.standard_normal((H, D)) * 0.05,
        "b1": np.zeros((H, 1)),
        "W2": rng.standard_normal((Q, H)) * 0.05,
        "b2": np.zeros((Q, 1)),
        "lam": LAM,
    }


def timed(step: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and minimum wall time of ``step`` in milliseconds (after one warm-up call)."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def engine_step(v: dict) -> Callable[[], dict[str, np.ndarray]]:
    def step() -> dict[str, np.ndarray]:
        return E.chapter_model(**v).gradients()

    return step


def torch_step(torch, v: dict) -> Callable[[], dict[str, np.ndarray]]:  # noqa: ANN001
    t = {k: torch.tensor(a, dtype=torch.float64) for k, a in v.items() if k != "lam"}

    def step() -> dict[str, np.ndarray]:
        params = {k: t[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2")}
        z = params["W1"] @ t["x"] + params["b1"]
        h = torch.tanh(z)
        o = params["W2"] @ h + params["b2"]
        L = ((o - t["y"]) ** 2).sum()
        s = LAM / 2 * (params["W1"].norm() ** 2 + params["W2"].norm() ** 2)
        (L + s).backward()
        return {k: p.grad.numpy() for k, p in params.items()}

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "engine.md"))
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    rows, costs = [], []
    for n in BATCHES:
        v = arrays(n)
        med, best = timed(engine_step(v), args.repeats)
        row = {"n": n, "engine": (med, best)}
        if torch is not None:
            row["torch"] = timed(torch_step(torch, v), args.repeats)
            ours, theirs = engine_step(v)(), torch_step(torch, v)()
            row["diff"] = max(float(np.max(np.abs(ours[k] - theirs[k]))) for k in ours)
        rows.append(row)
        m = E.chapter_model(**v)
        report = E.costs(m["J"], m.parameters(), hessian_limit=0)
        costs.append((n, report))
    lines = [
        "# Reference engine: forward + backward of the chapter's model",
        "",
        f"- Machine: {machine()}",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, "
        + (
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
            if torch
            else "torch absent (not importable): PyTorch columns skipped"
        ),
        f"- Model: d={D}, h={H}, q={Q}, tanh, squared loss, weight decay lam={LAM}; float64;",
        f"  one step = build the graph + gradients of J in W1, b1, W2, b2; {args.repeats} repeats,",
        "  median (min) wall time in ms after one warm-up.",
        "",
    ]
    if torch is not None:
        lines += [
            "| batch n | engine ms | torch.autograd ms | engine / torch | max abs grad diff |",
            "|---|---|---|---|---|",
        ]
        for r in rows:
            (em, eb), (tm, tb) = r["engine"], r["torch"]
            lines.append(
                f"| {r['n']} | {em:.3f} ({eb:.3f}) | {tm:.3f} ({tb:.3f}) | "
                f"{em / tm:.2f} | {r['diff']:.1e} |"
            )
    else:
        lines += ["| batch n | engine ms |", "|---|---|"]
        lines += [f"| {r['n']} | {r['engine'][0]:.3f} ({r['engine'][1]:.3f}) |" for r in rows]
    lines += [
        "",
        "## Op counts (``grader.engine.costs``): work relative to the forward pass",
        "",
        "| batch n | forward ops / flops | backward ops / flops | jvp ops / flops "
        "| hvp ops / flops | backward/forward flops | hvp/forward flops |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, c in costs:
        lines.append(
            f"| {n} | {c.forward.ops} / {c.forward.flops:,} | {c.backward.ops} / "
            f"{c.backward.flops:,} | {c.jvp.ops} / {c.jvp.flops:,} | {c.hvp.ops} / "
            f"{c.hvp.flops:,} | {c.ratio('backward'):.2f} | {c.ratio('hvp'):.2f} |"
        )
    lines += [
        "",
        "Reading the op counts: the backward pass computes only the parameters' gradients "
        "(dJ/dx is pruned), so its flops are about those of the forward pass (one matmul of "
        "each size: dJ/dW1 = dJ/dz xᵀ and dJ/dW2, plus W2ᵀ dJ/do). An HVP is a recorded "
        "backward pass plus a forward-mode pass over forward and backward graphs together, "
        "about 3 to 3.5 forward passes; a full Hessian needs one such forward-mode pass per "
        "parameter entry. Timings were taken on a shared 2-core machine: treat them as "
        "indicative.",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
