"""Benchmark code grading end to end through the ``code`` kind: trials, references from the
engine, the sandbox run (three calls) and the parent's checks and comparisons.

200 correct submissions of ``backprop-code`` one after another and 200 two at a time (two
threads), with the warm zygote pool; each submission has its own seed, so its trials and
references are computed afresh. The cold start is measured beside it: the very first grading
in a fresh process, and gradings with the pool emptied before each.

Usage: .venv/bin/python benchmarks/bench_code_grading.py [N]
(writes benchmarks/results/code-grading.md)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.catalog import parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.instances import trials_of
from grader.kinds.registry import get_kind
from grader.sandbox import get_pool, shutdown_pools

ROOT = Path(__file__).resolve().parent.parent
SPEC = parse_exercise((ROOT / "exercises" / "backprop-code.yaml").read_text())
PART = SPEC.part("code")
KIND = get_kind("code")
SOURCE = SPEC.examples[0].answer


def grade_one(seed: int) -> float:
    """Grade one correct submission with a fresh context; return its latency in seconds."""
    started = time.perf_counter()
    result = KIND.grade(PART, SOURCE, GradingContext(SPEC, seed))
    elapsed = time.perf_counter() - started
    assert result.correct, result.feedback
    return elapsed


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    """Return median, p99 (ms) and throughput (submissions per second)."""
    ms = sorted(x * 1000 for x in latencies)
    return {
        "median": statistics.median(ms),
        "p99": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
        "throughput": len(ms) / wall,
    }


def measure(n: int, concurrency: int, first_seed: int) -> dict[str, float]:
    """Grade ``n`` submissions, ``concurrency`` at a time."""
    seeds = range(first_seed, first_seed + n)
    started = time.perf_counter()
    if concurrency == 1:
        latencies = [grade_one(seed) for seed in seeds]
    else:
        with ThreadPoolExecutor(concurrency) as executor:
            latencies = list(executor.map(grade_one, seeds))
    return summary(latencies, time.perf_counter() - started)


def parent_side(n: int) -> float:
    """Median ms of the parent's own work per submission: trials and the four references."""
    times = []
    for seed in range(n):
        started = time.perf_counter()
        ctx = GradingContext(SPEC, 10_000 + seed)
        KIND._references(PART, ctx, trials_of(ctx))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cold_starts(count: int) -> list[float]:
    """Latencies (ms) of gradings that each find the pool empty (a zygote starts inside)."""
    times = []
    for seed in range(count):
        shutdown_pools()
        times.append(grade_one(50_000 + seed) * 1000)
    return times


def main() -> None:
    """Run the benchmark and write the results file."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    load_before = os.getloadavg()[0]
    first = grade_one(0) * 1000  # fresh process: imports, model shapes, zygote start
    cold = cold_starts(20)
    parent = parent_side(100)
    rows = []
    for concurrency, first_seed in ((1, 1_000), (2, 2_000)):
        get_pool(("numpy",), True).prewarm()
        rows.append((concurrency, measure(n, concurrency, first_seed)))
        print(rows[-1], flush=True)
    shutdown_pools()
    load_after = os.getloadavg()[0]
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lscpu if "Model name" in line), "?")
    lines = [
        "# Code grading benchmark",
        "",
        f"- Date: {time.strftime('%a %d %b %Y %H:%M:%S %Z')}",
        f"- Machine: {cpu}, 2 cores",
        f"- Workload: {n} correct submissions of `backprop-code`, graded through the `code` "
        f"kind (`CodeKind.grade`): {SPEC.grading.trials} trials with fresh sizes and values per "
        "submission, the four references `grad(J, ·)` from the engine, one confined sandbox "
        "run with one call per trial, the parent's checks and comparisons",
        "- Warm pool: two zygotes (bwrap + Python + numpy) kept alive, as a Celery worker has "
        "them after `worker_process_init`",
        f"- Load average (1 min) before / after the run: {load_before:.1f} / {load_after:.1f} "
        "(other jobs on the machine inflate the latencies)",
        f"- Parent's own work per submission (trials + references), median of 100: {parent:.1f} ms",
        "",
        "| mode | at a time | median latency (ms) | p99 latency (ms) | throughput (subm/s) |",
        "|---|---|---|---|---|",
    ]
    for concurrency, stats in rows:
        lines.append(
            f"| warm pool | {concurrency} | {stats['median']:.1f} | {stats['p99']:.1f} "
            f"| {stats['throughput']:.1f} |"
        )
    lines += [
        "",
        "Cold start (no warm zygote):",
        "",
        f"- first grading in a fresh process (imports, model shapes, zygote start): {first:.0f} ms",
        f"- 20 gradings, pool emptied before each: median {statistics.median(cold):.0f} ms, "
        f"max {max(cold):.0f} ms",
        "",
        "Target: median under 50 ms per submission (three trials) with the warm pool.",
    ]
    out = Path(__file__).parent / "results" / "code-grading.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
