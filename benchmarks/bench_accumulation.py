"""Forward-mode accumulation against reverse mode in the reference engine, and what the
forward-vs-reverse exercise and the worked backprop cost the service.

1. For the chapter's model (one example, tanh, weight decay) at growing sizes: the passes and
   multiplications each mode executes for dJ/dW1 (measured by the engine's counters), the
   peak floats forward mode carries, and the wall time of each mode.
2. Grading a `forward-vs-reverse` count part (memory kind, accumulation measures): the first
   grade in a process (the engine runs both modes on the traced model) and later ones.
3. Building the worked backprop of a `backprop-bias` submission (what a result page adds).

Usage: .venv/bin/python benchmarks/bench_accumulation.py [--repeats N] [--out PATH]
Writes a Markdown report (machine and date included) to benchmarks/results/accumulation.md.
"""

from __future__ import annotations

import argparse
import datetime
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
from grader.catalog import parse_exercise  # noqa: E402
from grader.kinds import memory  # noqa: E402
from grader.kinds.base import GradingContext  # noqa: E402
from grader.kinds.registry import get_kind  # noqa: E402
from grader.services.worked import worked_backprop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = ((4, 8, 3), (8, 16, 4), (16, 32, 8), (32, 64, 10))


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and minimum wall time of ``fn`` in ms."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def machine() -> str:
    try:
        cpu = subprocess.run(
            ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        cpu = platform.processor()
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{cpu or platform.machine()}, {cores} cores"


def model(d: int, h: int, q: int) -> E.Model:
    rng = np.random.default_rng(0)
    return E.chapter_model(
        rng.normal(size=d),
        rng.normal(size=q),
        rng.normal(size=(h, d)),
        rng.normal(size=h),
        rng.normal(size=(q, h)),
        rng.normal(size=q),
        0.1,
    )


def modes(repeats: int) -> list[str]:
    rows = [
        "| d, h, q | passes fwd / rev | multiplications fwd / rev | fwd / rev | "
        "peak carried floats | fwd ms | rev ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for d, h, q in SIZES:
        m = model(d, h, q)
        acc = E.forward_accumulation(m["J"], m["W1"])
        rev = E.reverse_accumulation(m["J"], m["W1"])
        fwd_ms, _ = timed(lambda m=m: E.forward_accumulation(m["J"], m["W1"]), repeats)
        rev_ms, _ = timed(lambda m=m: E.reverse_accumulation(m["J"], m["W1"]), repeats)
        rows.append(
            f"| {d}, {h}, {q} | {acc.forward.passes:,} / {rev.passes} | "
            f"{acc.forward.mults:,} / {rev.mults:,} | {acc.forward.mults / rev.mults:,.0f} | "
            f"{acc.peak:,} | {fwd_ms:.1f} | {rev_ms:.2f} |"
        )
    return rows


def grading(repeats: int) -> list[str]:
    spec = parse_exercise((ROOT / "exercises" / "forward-vs-reverse.yaml").read_text())
    kind = get_kind("memory")
    rows = ["| part | first grade in a process ms | later grades ms (median) |", "|---|---|---|"]
    for part_id, answer in (
        ("peak", "2*h^2*d"),
        ("mults_forward", "h*d*(h*d + h + q*h + q)"),
        ("mults_reverse", "2*h*d + h + q*h + q"),
    ):
        part = spec.part(part_id)
        memory._ACCOUNTS.clear()  # the accounting cache: measure the first grade
        start = time.perf_counter()
        kind.grade(part, answer, GradingContext(spec, 1))
        first = (time.perf_counter() - start) * 1000
        later, _ = timed(
            lambda p=part, a=answer: kind.grade(p, a, GradingContext(spec, 2)), repeats
        )
        rows.append(f"| {part_id} `{answer}` | {first:.1f} | {later:.2f} |")
    return rows


def worked(repeats: int) -> list[str]:
    spec = parse_exercise((ROOT / "exercises" / "backprop-bias.yaml").read_text())
    results = {"dJ_dz": {"correct": False, "status": "graded", "feedback": "x"}}
    worked_backprop(spec, 1, results)  # the instance traced once per process
    median, low = timed(lambda: worked_backprop(spec, 1, results), repeats)
    return [
        f"- worked backprop of a `backprop-bias` submission: median {median:.2f} ms (min {low:.2f})"
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "accumulation.md"))
    args = parser.parse_args()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Forward-mode accumulation against reverse mode",
        "",
        f"- Machine: {machine()}",
        f"- Date: {now}",
        f"- Python {platform.python_version()}, numpy {np.__version__}; {args.repeats} repeats",
        "",
        "## dJ/dW1 of the chapter's model, one example (counts measured by the engine)",
        "",
        *modes(args.repeats),
        "",
        "Forward mode makes one pass per entry of W1 (hd) and carries ∂z/∂W1 and ∂h/∂W1 "
        "(h·hd floats each) at its peak; reverse mode makes one backward pass. The ratio of "
        "multiplications is hd: per pass, both do the same products.",
        "",
        "## Grading forward-vs-reverse count parts (memory kind)",
        "",
        *grading(args.repeats),
        "",
        "## The worked backprop on a result page",
        "",
        *worked(args.repeats),
        "",
        "Timings were taken on a shared machine: treat them as indicative.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
