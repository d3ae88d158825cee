"""Run one load phase with wrk (C, event loop: it takes far less CPU than the server it loads)
and ``benchmarks/load/submit.lua``; return wrk's figures and every response seen."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.load.client import Outcome

SCRIPT = Path(__file__).with_name("submit.lua")


def available() -> bool:
    """Return True when the wrk binary is installed (Debian package ``wrk``)."""
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str,
    token: str,
    method: str,
    path: str,
    bodies: list[dict[str, Any]],
    clients: int,
    seconds: float,
    threads: int = 2,
    unique_base: int = 0,
    think_ms: float = 0,
) -> tuple[list[Outcome], dict[str, Any]]:
    """Load ``base_url + path`` with ``clients`` connections for ``seconds``; POST bodies are
    taken in turn from ``bodies``, each ``UNIQUE`` in them replaced by a number of its own
    (from ``unique_base`` up; give each phase its own range). With ``think_ms``, each
    connection waits a random time of that mean before each request (a student's pace)
    instead of sending back to back. Returns the outcomes (status and
    JSON body; latency is wrk's, in the summary) and the summary: requests, req/s, p50/p99 ms,
    socket errors."""
    with tempfile.TemporaryDirectory(prefix="grader-wrk-") as folder:
        work = Path(folder)
        bodies_file = work / "bodies.jsonl"
        bodies_file.write_text("".join(json.dumps(b) + "\n" for b in bodies) or "{}\n")
        prefix = str(work / "out-")
        command = [
            "wrk",
            f"-t{min(threads, clients)}",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(SCRIPT),
            base_url,
            "--",
            str(bodies_file),
            prefix,
            token,
            method,
            path,
            uuid.uuid4().hex,
            str(unique_base),
            f"{think_ms:g}",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 120, check=False
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
        figures: dict[str, float] = {}
        for line in (work / "out-summary.txt").read_text().splitlines():
            name, _, value = line.partition(" ")
            figures[name] = float(value)
        outcomes = []
        for log in sorted(work.glob("out-[0-9]*.log")):
            for line in log.read_text().splitlines():
                status, _, body = line.partition("\t")
                try:
                    parsed = json.loads(body) if body else {}
                except json.JSONDecodeError:
                    parsed = {}
                outcomes.append(Outcome(int(status), 0.0, "", parsed))
    seconds_run = figures["duration_us"] / 1e6
    ok = sum(1 for o in outcomes if 200 <= o.status < 300)
    socket_errors = int(
        sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    )
    summary = {
        "requests": len(outcomes),
        "ok": ok,
        "errors": len(outcomes) - ok + socket_errors,
        "statuses": sorted({o.status for o in outcomes}),
        "rps": round(len(outcomes) / seconds_run, 1) if seconds_run else 0.0,
        "p50_ms": round(figures["p50_us"] / 1000, 1),
        "p99_ms": round(figures["p99_us"] / 1000, 1),
        "max_ms": round(figures["max_us"] / 1000, 1),
        "seconds": round(seconds_run, 1),
        # CPU seconds wrk itself used: what the load client takes from the server's cores
        "client_cpu_s": round(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 2
        ),
    }
    return outcomes, summary
