"""The web service's front: gunicorn alone against gunicorn behind nginx (``deploy/nginx``).

    .venv/bin/python -m benchmarks.bench_serving [--rounds 2] [--seconds 10]

For each setup in turn (alternating, ``--rounds`` times), serves the app under gunicorn
(``gunicorn.conf.py``: gunicorn's gthread worker, 3 workers x 2 threads) on PostgreSQL (a
database of its own, dropped afterwards), alone or behind nginx with the deployment's
configuration (``benchmarks/load/nginx.py``), and measures:
1. submissions of ``backprop-bias`` at 16 clients back to back (the capacity), then at a
   student's pace: 64 clients that each wait a random time before each submission, offering
   half that capacity (``benchmarks/load``'s paced phase: wrk opens its 64 connections at the
   start, each silent until its client's first wait ends);
2. ``/healthz`` beside 50 stalled clients (one byte of a request, or headers and one byte of
   a body), the slowest of three (at most 30 s each);
3. ``/healthz`` with wrk, 16 connections kept alive.
Every acknowledged submission is checked against the database (stored once, with its score).
Prints a Markdown table. Needs wrk and nginx (``apt-get install wrk nginx-light``) and
PostgreSQL on 127.0.0.1.

Until 2026-12-03 this script compared gunicorn's gthread worker with a worker of our own,
``grader.serving.ThreadWorker``, without a proxy and then behind nginx
(``benchmarks/results/serving-before-after.md``, ``serving-behind-nginx.md``); behind nginx it
made no difference, and it is gone (DESIGN 10).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx

from benchmarks.load import nginx
from benchmarks.load import wrk as wrk_client
from benchmarks.load.run import (
    BIN,
    ROOT,
    create_database,
    drop_database,
    prepare_database,
    spawn,
    stop,
    submission_maker,
    verify,
    wait_http,
)

SETUPS = ("alone", "nginx")
STALLED = 50
PACED_CLIENTS = 64
STALLED_TIMEOUT = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS))
    args = parser.parse_args()
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores.\n")
    print(
        "| round | setup | capacity subm/s (16 clients) | paced offered/s | paced subm/s "
        f"| paced p50 ms | paced p99 ms | paced max ms | /healthz beside {STALLED} stalled "
        "| /healthz req/s | paced socket errors | stored as acknowledged |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for number in range(1, args.rounds + 1):
        for setup in args.setups:
            f = measure(setup, args.seconds)
            paced = f["paced"]
            stalled = (
                f"> {STALLED_TIMEOUT:.0f} s"
                if f["stalled"] >= STALLED_TIMEOUT
                else f"{f['stalled'] * 1000:,.0f} ms"
            )
            print(
                f"| {number} | {setup} | {f['capacity']:,.0f} | {f['offered']:,.0f} "
                f"| {paced['rps']:,.0f} | {paced['p50_ms']:,.1f} | {paced['p99_ms']:,.1f} "
                f"| {paced['max_ms']:,.1f} | {stalled} "
                f"| {f['healthz']:,.0f} | {f['socket_errors']} | {f['verify']} |"
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(setup: str, seconds: int) -> dict:
    """Serve the app on PostgreSQL, alone or behind nginx (``setup``); return the figures."""
    name = f"grader_serving_{os.getpid()}_{setup}"
    db_url = create_database(name)
    port, front_port = free_port(), free_port()
    web = None
    try:
        with tempfile.TemporaryDirectory(prefix="grader-serving-") as folder:
            env = os.environ | {
                "DATABASE_URL": db_url,
                "SECRET_KEY": "bench-serving",
                "GRADER_API_RATE_LIMIT": "0",
                "GRADER_ACCESS_LOG": "off",
                "GRADER_INSTANCE_PATH": folder,
                "PROMETHEUS_MULTIPROC_DIR": f"{folder}/prometheus",
                "OPENBLAS_NUM_THREADS": "1",
                "GRADER_PROXY_HOPS": "1" if setup == "nginx" else "0",
            }
            token = prepare_database(env, [str(ROOT / "exercises" / "backprop-bias.yaml")], "b")
            with (Path(folder) / "web.log").open("ab") as log:
                web = spawn(
                    [
                        str(BIN / "gunicorn"),
                        "-c",
                        str(ROOT / "gunicorn.conf.py"),
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "3",
                        "--threads",
                        "2",
                        "benchmarks.load.wsgi:app",
                    ],
                    env,
                    log,
                )
            wait_http(f"http://127.0.0.1:{port}/healthz")
            front_of = (
                nginx.nginx_in_front(f"127.0.0.1:{port}", Path(folder) / "nginx", front_port)
                if setup == "nginx"
                else nullcontext(f"http://127.0.0.1:{port}")
            )
            with front_of as front:
                outcomes, figures = load(front, token, seconds)
                figures["stalled"] = healthz_beside_stalled(front)
                _, healthz = wrk_client.run_wrk(front, token, "GET", "/healthz", [], 16, seconds)
                figures["healthz"] = healthz["rps"]
            if setup == "nginx":
                errors = (Path(folder) / "nginx" / "error.log").read_text().splitlines()
                for line in [line for line in errors if "[error]" in line][-5:]:
                    print(f"nginx: {line}", file=sys.stderr)
            checked = verify(db_url, outcomes)
            problems = checked["missing"] + checked["score_mismatch"] + checked["duplicate_keys"]
            failed = sum(1 for o in outcomes if not 200 <= o.status < 300)
            figures["verify"] = (
                f"{checked['acknowledged']:,} of {checked['acknowledged']:,}"
                if not problems and not failed
                else f"PROBLEMS {checked}; {failed} responses not 2xx"
            )
            return figures
    finally:
        if web is not None:
            stop(web)
        drop_database(name)


def load(base: str, token: str, seconds: int) -> tuple[list, dict]:
    """Warm up, measure the capacity at 16 clients, then the paced phase at half of it;
    return every outcome and the figures."""
    make = submission_maker("backprop-bias")
    rng = random.Random(20261203)
    bodies = [make(rng)[2] for _ in range(2000)]
    path = "/api/v1/exercises/backprop-bias/submissions"
    run = partial(wrk_client.run_wrk, base, token, "POST", path, bodies)
    outcomes, _ = run(16, seconds, unique_base=10**7)  # warm-up: imports, traced instances
    more, saturated = run(16, seconds, unique_base=2 * 10**7)
    outcomes += more
    capacity = saturated["rps"]
    offered = capacity / 2
    more, paced = run(
        PACED_CLIENTS,
        2 * seconds,
        unique_base=3 * 10**7,
        think_ms=1000 * PACED_CLIENTS / offered,
    )
    outcomes += more
    return outcomes, {
        "capacity": capacity,
        "offered": offered,
        "paced": paced,
        "socket_errors": paced["errors"] - (paced["requests"] - paced["ok"]),
    }


def healthz_beside_stalled(base: str) -> float:
    """Open ``STALLED`` connections that stall (one byte of a request line, or headers and
    one byte of a 1000-byte body); return the slowest of three /healthz requests on new
    connections, in seconds (``STALLED_TIMEOUT`` for one that got no answer in that time)."""
    host, port = base.removeprefix("http://").split(":")
    stalled = []
    try:
        for number in range(STALLED):
            sock = socket.create_connection((host, int(port)))
            stalled.append(sock)
            sock.sendall(
                b"G"
                if number % 2
                else b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
            )
        time.sleep(0.5)
        slowest = 0.0
        for _ in range(3):
            started = time.monotonic()
            try:
                httpx.get(base + "/healthz", timeout=STALLED_TIMEOUT).raise_for_status()
            except httpx.TimeoutException:
                return STALLED_TIMEOUT
            slowest = max(slowest, time.monotonic() - started)
        return slowest
    finally:
        for sock in stalled:
            sock.close()


if __name__ == "__main__":
    main()
