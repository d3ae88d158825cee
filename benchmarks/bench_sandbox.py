"""Benchmark the sandbox: 200 backprop submissions (three calls each), one after another and
two at a time, through the warm zygote pool and with a cold bubblewrap start per submission.

Usage: .venv/bin/python benchmarks/bench_sandbox.py [N]   (writes benchmarks/results/sandbox.md)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from grader.sandbox import Status, get_pool, run_code, shutdown_pools
from grader.sandbox.pool import Zygote

SOURCE = """
import numpy as np

def backward(x, y, W1, b1, W2, b2, lam):
    z = W1 @ x + b1
    h = np.tanh(z)
    o = W2 @ h + b2
    dJ_do = 2 * (o - y)
    dJ_dz = (W2.T @ dJ_do) * (1 - h ** 2)
    return {"W1": np.outer(dJ_dz, x) + lam * W1, "b1": dJ_dz,
            "W2": np.outer(dJ_do, h) + lam * W2, "b2": dJ_do}
"""


def calls(seed: int) -> list[dict]:
    """Three trials with distinct chapter-size dimensions, as the grader draws them."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(3):
        d, h, q = rng.choice(np.arange(2, 9), size=3, replace=False)
        out.append(
            {
                "x": rng.normal(size=d),
                "y": rng.normal(size=q),
                "W1": rng.normal(size=(h, d)),
                "b1": rng.normal(size=h),
                "W2": rng.normal(size=(q, h)),
                "b2": rng.normal(size=q),
                "lam": 0.1,
            }
        )
    return out


def one(seed: int, warm: bool) -> float:
    started = time.perf_counter()
    result = run_code(SOURCE, "backward", calls(seed), warm=warm)
    elapsed = time.perf_counter() - started
    assert result.status is Status.OK, (result.status, result.message)
    return elapsed


def measure(n: int, concurrency: int, warm: bool) -> dict:
    started = time.perf_counter()
    if concurrency == 1:
        latencies = [one(seed, warm) for seed in range(n)]
    else:
        with ThreadPoolExecutor(concurrency) as executor:
            latencies = list(executor.map(lambda s: one(s, warm), range(n)))
    wall = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    return {
        "median": statistics.median(ms),
        "p99": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
        "throughput": n / wall,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    starts = []
    for _ in range(10):
        zygote = Zygote(("numpy",), True)
        starts.append(zygote.start_seconds * 1000)
        zygote.kill()
    rows = []
    for warm in (True, False):
        for concurrency in (1, 2):
            if warm:
                get_pool().prewarm()
            stats = measure(n, concurrency, warm)
            rows.append(("warm pool" if warm else "cold start", concurrency, stats))
            print(rows[-1], flush=True)
    shutdown_pools()
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lscpu if "Model name" in line), "?")
    lines = [
        "# Sandbox benchmark",
        "",
        f"- Date: {time.strftime('%a %d %b %Y %H:%M:%S %Z')}",
        f"- Machine: {cpu}, 2 cores",
        f"- Workload: {n} submissions of numpy `backward` code, 3 calls each on random inputs "
        "with sizes d, h, q distinct in 2..8; every result fully checked by the parent",
        "- Warm pool: zygotes (bwrap + Python + numpy) kept alive, one fresh namespaced child "
        "per submission; cold start: a new bubblewrap sandbox per submission",
        f"- Zygote start alone (bwrap + interpreter + `import numpy`), 10 starts: median "
        f"{statistics.median(starts):.1f} ms, max {max(starts):.1f} ms",
        "",
        "| mode | at a time | median latency (ms) | p99 latency (ms) | throughput (subm/s) |",
        "|---|---|---|---|---|",
    ]
    for mode, concurrency, stats in rows:
        lines.append(
            f"| {mode} | {concurrency} | {stats['median']:.1f} | {stats['p99']:.1f} "
            f"| {stats['throughput']:.1f} |"
        )
    out = Path(__file__).parent / "results" / "sandbox.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
