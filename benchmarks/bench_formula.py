"""Benchmark grading one full ``backprop-bias`` submission (all nine formula parts) in process.

Each submission has its own seed, which picks its five trials among the exercise's pool of
instances (DESIGN 6). A process traces each instance once, with the reference values computed
on it, so the warm scenarios below (the pool warmed first by 600 submissions, as a web or queue
worker is after its first few hundred) grade against traced instances. Scenarios:

- pool cold: the pool emptied before each submission, so its five instances are traced and
  their reference values computed in the submission (what every submission cost before the
  pool; what a fresh worker's first submissions cost);
- all correct, parse cache cleared before each submission (every answer parsed afresh);
- all correct, parse cache warm (the same answer strings were seen before: their parsed trees,
  and their values on instances already used, are reused: DESIGN 6, the value memo);
- all correct, trials drawn beforehand (what the formula kind itself costs);
- all wrong (listed mistakes and generic diagnoses), parse cache cleared;
- the parser alone: lexing and parsing every formula of the exercises (references, answers,
  mistakes, examples) in the namespace it is read in, microseconds per formula.

Usage: .venv/bin/python benchmarks/bench_formula.py [N]   (writes benchmarks/results/formula.md)
"""

from __future__ import annotations

import cProfile
import gc
import io
import platform
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

from grader.catalog import parse_exercise
from grader.kinds import formula
from grader.kinds.base import GradingContext
from grader.kinds.instances import trials_of
from grader.kinds.registry import get_kind

ROOT = Path(__file__).resolve().parent.parent
SPEC = parse_exercise((ROOT / "exercises" / "backprop-bias.yaml").read_text())
KIND = get_kind("formula")
CORRECT = {
    "z": "W_1 x + b_1",
    "o": "W2 @ h + b2",
    "dJ_do": "2(o − y)",
    "dJ_db2": "dJ_do",
    "dJ_dW2": "dJ_do hᵀ + λ W_2",
    "dJ_dh": "W2^T dJ_do",
    "dJ_dz": "dJ_dh ⊙ φ'(z)",
    "dJ_db1": "(W2.T @ (2*(o-y))) * dphi(z)",
    "dJ_dW1": "dJ_dz xᵀ + λ W1",
}
WRONG = {
    "z": "W1 @ x",
    "o": "W2 @ z + b2",
    "dJ_do": "o - y",
    "dJ_db2": "-dJ_do",
    "dJ_dW2": "dJ_do @ h.T - lam*W2",
    "dJ_dh": "W2 dJ_do",
    "dJ_dz": "dJ_dh * (1 - tanh(z)^2)",
    "dJ_db1": "dJ_dz + b1",
    "dJ_dW1": "dJ_dz @ x.T + 1.3*lam*W1",
}


def grade_all(
    answers: dict[str, str],
    seed: int,
    cold: bool,
    pre_trials: bool,
    collect: bool = False,
    cold_pool: bool = False,
) -> float:
    """Grade every part of one submission; return the seconds it took. ``collect`` runs the
    cyclic garbage collector before timing (the engine's graphs are cyclic garbage);
    ``cold_pool`` empties the spec's pool of traced instances first."""
    if cold:
        formula._PARSED.clear()
    if cold_pool:
        SPEC._instances.clear()
    ctx = GradingContext(SPEC, seed)
    if pre_trials:
        trials_of(ctx)
    if collect:
        gc.collect()
    started = time.perf_counter()
    for part in SPEC.parts:
        result = KIND.grade(part, answers[part.id], ctx)
        assert result.correct == (answers is CORRECT), (part.id, result.feedback)
    return time.perf_counter() - started


def exercise_formulas() -> list[tuple[str, object]]:
    """Every formula of every exercise with the namespace it is read in."""
    from grader.catalog import load_files
    from grader.kinds.formula_values import spec_plan

    found = []
    for loaded in load_files(sorted((ROOT / "exercises").glob("*.yaml"))):
        plan = spec_plan(loaded.spec)
        for part in loaded.spec.parts:
            prepared = plan.parts.get(part.id)
            if prepared is None:
                continue
            found.append((part.reference, prepared.instructor_ns))
            for text in [part.answer, *(m.answer for m in part.mistakes)]:
                if text:
                    found.append((text, prepared.student_ns))
        for example in loaded.spec.examples:
            prepared = plan.parts.get(example.part)
            if prepared is not None and isinstance(example.answer, str):
                found.append((example.answer, prepared.student_ns))
    return found


def parser_figure(rounds: int = 30) -> tuple[int, float, float]:
    """Return (formulas, median µs per formula, best µs per formula) for lexing and parsing
    every exercise formula, over ``rounds`` rounds."""
    from grader.mathexpr import parse

    formulas = exercise_formulas()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for text, namespace in formulas:
            parse(text, namespace)
        times.append((time.perf_counter() - started) / len(formulas) * 1e6)
    return len(formulas), statistics.median(times), min(times)


def summary(samples: list[float]) -> tuple[float, float, float]:
    """Return median, p99 and maximum in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[min(len(ms) - 1, int(0.99 * len(ms)))], ms[-1]


def main(n: int) -> None:
    grade_all(CORRECT, 0, cold=True, pre_trials=False)  # warm up imports and plan caches
    count, parse_median, parse_best = parser_figure()
    print(f"parser: {count} formulas, median {parse_median:.1f} µs, best {parse_best:.1f} µs")
    rows = []
    samples = [grade_all(CORRECT, 1000 + i, True, False, cold_pool=True) for i in range(n)]
    rows.append(
        ("all correct, pool cold (five instances traced per submission)", *summary(samples))
    )
    print(f"{rows[-1][0]}: median {rows[-1][1]:.2f} ms, p99 {rows[-1][2]:.2f} ms")
    samples = [grade_all(WRONG, 1000 + i, True, False, cold_pool=True) for i in range(n)]
    rows.append(("all wrong, pool cold", *summary(samples)))
    print(f"{rows[-1][0]}: median {rows[-1][1]:.2f} ms, p99 {rows[-1][2]:.2f} ms")
    for i in range(600):  # warm the pool as a worker's first submissions do
        grade_all(CORRECT if i % 2 else WRONG, 100_000 + i, False, False)
    scenarios = [
        ("all correct, answers parsed afresh (end to end)", CORRECT, True, False, False),
        ("all correct, end to end, gc.collect() before each", CORRECT, True, False, True),
        ("all correct, parse cache warm", CORRECT, False, False, False),
        (
            "all correct, trials drawn beforehand (formula kind alone), gc before",
            CORRECT,
            True,
            True,
            True,
        ),
        ("all wrong (mistakes and diagnoses), answers parsed afresh", WRONG, True, False, False),
    ]
    for label, answers, cold, pre, collect in scenarios:
        samples = [grade_all(answers, 1000 + i, cold, pre, collect) for i in range(n)]
        rows.append((label, *summary(samples)))
        print(f"{label}: median {rows[-1][1]:.2f} ms, p99 {rows[-1][2]:.2f} ms")
    # What the web and Celery workers do at start: keep import-time objects out of full
    # collections, so the cyclic garbage grading leaves costs little to collect. Last, since
    # the freeze cannot be undone in this process.
    gc.collect()
    gc.freeze()
    samples = [grade_all(CORRECT, 1000 + i, True, False, False) for i in range(n)]
    rows.append(
        ("all correct, end to end, after gc.freeze() (as the workers run)", *summary(samples))
    )
    print(f"{rows[-1][0]}: median {rows[-1][1]:.2f} ms, p99 {rows[-1][2]:.2f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(50):
        grade_all(CORRECT, 5000 + i, True, False)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpu.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    date = subprocess.run(["date"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Formula grading: one full backprop-bias submission (nine parts)",
        "",
        f"- Machine: {model}, {cores} cores",
        f"- Date: {date}",
        f"- Python {platform.python_version()}; {n} submissions per scenario, each with its own "
        "seed (5 trials from the pool of 256 instances; after the two cold rows the pool is "
        "warmed by 600 submissions); target < 5 ms for all nine parts.",
        "",
        "| scenario | median (ms) | p99 (ms) | max (ms) |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {med:.2f} | {p99:.2f} | {top:.2f} |" for label, med, p99, top in rows],
        "",
        f"- Load average while measuring: {open('/proc/loadavg').read().split()[:3]} (other "
        "jobs shared the 2 cores; figures are noisy).",
        "",
        f"Parser: lexing and parsing the exercises' {count} formulas, 30 rounds: median "
        f"{parse_median:.1f} µs per formula (best round {parse_best:.1f} µs).",
        "",
        "## Profile (50 end-to-end submissions, cumulative)",
        "",
        "```",
        *[line for line in out.getvalue().splitlines() if line.strip()][:40],
        "```",
        "",
    ]
    target = ROOT / "benchmarks" / "results" / "formula.md"
    target.write_text("\n".join(lines))
    print(f"wrote {target}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
