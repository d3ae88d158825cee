"""The web worker: gunicorn's own gthread worker against ``grader.serving.ThreadWorker``.

    .venv/bin/python -m benchmarks.bench_serving [--rounds 2] [--seconds 10]

For each worker class in turn (alternating, ``--rounds`` times), serves the app under gunicorn
(``gunicorn.conf.py``, 3 workers x 2 threads, SQLite) and measures:
1. silent connections: with 0, 6 and 8 TCP connections open that send nothing, how long a
   ``GET /healthz`` on a new connection takes (the slowest of three);
2. ``/healthz`` with wrk, 16 connections, kept alive and with a new connection per request
   (``Connection: close``): ``grader.serving.ThreadWorker`` puts each new connection on the
   poller first, one more turn of the worker's loop per connection.
Prints a Markdown table. Needs wrk (``apt-get install wrk``).

    .venv/bin/python -m benchmarks.bench_serving --behind-nginx [--rounds 2] [--seconds 10]

The same two workers behind nginx with the deployment's configuration
(``benchmarks/load/nginx.py``, ``deploy/nginx``), on PostgreSQL (a database of its own, dropped
afterwards), 3 workers x 2 threads:
1. submissions of ``backprop-bias`` at 16 clients back to back (the capacity), then at a
   student's pace: 64 clients that each wait a random time before each submission, offering
   half that capacity (as ``benchmarks/load``'s paced phase, where the worker made the
   difference without a proxy: p99 363-825 ms against 22-53 ms);
2. ``/healthz`` beside 50 stalled clients (one byte of a request, or headers and one byte of
   a body), the slowest of three;
3. ``/healthz`` with wrk, 16 connections kept alive.
Every acknowledged submission is checked against the database (stored once, with its score).
Needs wrk and nginx (``apt-get install wrk nginx-light``) and PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx

from benchmarks.load.run import BIN, ROOT, spawn, stop, wait_http

WORKERS = ("gthread", "grader.serving.ThreadWorker")
SILENT = (0, 6, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--behind-nginx", action="store_true", help="the second measurement")
    args = parser.parse_args()
    if args.behind_nginx:
        main_behind_nginx(args)
        return
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores.\n")
    print(
        "| round | worker | /healthz with "
        + " | ".join(f"{n} silent" for n in SILENT)
        + " | req/s kept alive | req/s, a connection per request |"
    )
    print("| ---: | --- | " + " | ".join("---:" for _ in SILENT) + " | ---: | ---: |")
    for number in range(1, args.rounds + 1):
        for worker in WORKERS:
            figures = measure(worker, args.seconds)
            silent = " | ".join(f"{figures[n] * 1000:,.0f} ms" for n in SILENT)
            print(
                f"| {number} | `{worker}` | {silent} | {figures['keep']:,.0f} "
                f"| {figures['close']:,.0f} |"
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(worker: str, seconds: int) -> dict:
    """Serve the app with ``worker``; return the /healthz times with silent connections (s)
    and wrk's requests/s kept alive and with a connection per request."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="grader-serving-") as folder:
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
            "SECRET_KEY": "bench-serving",
            "GRADER_ACCESS_LOG": "off",
            "GRADER_INSTANCE_PATH": folder,
            "PROMETHEUS_MULTIPROC_DIR": f"{folder}/prometheus",
        }
        with (Path(folder) / "web.log").open("ab") as log:
            web = spawn(
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    str(ROOT / "gunicorn.conf.py"),
                    "--worker-class",
                    worker,
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "3",
                    "--threads",
                    "2",
                    "grader:create_app()",
                ],
                env,
                log,
            )
        try:
            wait_http(base + "/healthz")
            figures: dict = {}
            for count in SILENT:
                figures[count] = healthz_beside_silent(base, port, count)
                time.sleep(6)  # gthread's threads give up on the silent connections
            wrk(base, 3, close=True)  # warm-up
            figures["keep"] = wrk(base, seconds, close=False)
            figures["close"] = wrk(base, seconds, close=True)
            return figures
        finally:
            stop(web)


def healthz_beside_silent(base: str, port: int, count: int) -> float:
    """Open ``count`` connections that send nothing; return the slowest of three /healthz
    requests, each on a new connection, in seconds."""
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    try:
        time.sleep(0.3)  # accepted by the workers
        slowest = 0.0
        for _ in range(3):
            started = time.monotonic()
            httpx.get(base + "/healthz", timeout=30).raise_for_status()
            slowest = max(slowest, time.monotonic() - started)
        return slowest
    finally:
        for sock in silent:
            sock.close()


def wrk(base: str, seconds: int, close: bool) -> float:
    """Return wrk's requests/s on /healthz with 16 connections."""
    headers = ["-H", "Connection: close"] if close else []
    done = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", *headers, base + "/healthz"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))


STALLED = 50
PACED_CLIENTS = 64


def main_behind_nginx(args: argparse.Namespace) -> None:
    """Print the table of the measurement behind nginx, a row per round and worker."""
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, behind nginx.\n")
    print(
        "| round | worker | capacity subm/s (16 clients) | paced offered/s | paced subm/s "
        f"| paced p50 ms | paced p99 ms | paced max ms | /healthz beside {STALLED} stalled "
        "| /healthz req/s | stored as acknowledged |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for number in range(1, args.rounds + 1):
        for worker in WORKERS:
            f = measure_behind_nginx(worker, args.seconds)
            paced = f["paced"]
            print(
                f"| {number} | `{worker}` | {f['capacity']:,.0f} | {f['offered']:,.0f} "
                f"| {paced['rps']:,.0f} | {paced['p50_ms']:,.1f} | {paced['p99_ms']:,.1f} "
                f"| {paced['max_ms']:,.1f} | {f['stalled'] * 1000:,.0f} ms "
                f"| {f['healthz']:,.0f} | {f['verify']} |"
            )


def measure_behind_nginx(worker: str, seconds: int) -> dict:
    """Serve the app on PostgreSQL with ``worker`` behind nginx; return the figures."""
    from benchmarks.load import nginx
    from benchmarks.load import wrk as wrk_client
    from benchmarks.load.run import (
        create_database,
        drop_database,
        prepare_database,
        submission_maker,
        verify,
    )

    name = f"grader_serving_{os.getpid()}_{worker.rsplit('.', 1)[-1].lower()}"
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
                "GRADER_PROXY_HOPS": "1",
            }
            token = prepare_database(env, [str(ROOT / "exercises" / "backprop-bias.yaml")], "b")
            with (Path(folder) / "web.log").open("ab") as log:
                web = spawn(
                    [
                        str(BIN / "gunicorn"),
                        "-c",
                        str(ROOT / "gunicorn.conf.py"),
                        "--worker-class",
                        worker,
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
            upstream = f"127.0.0.1:{port}"
            with nginx.nginx_in_front(upstream, Path(folder) / "nginx", front_port) as front:
                make = submission_maker("backprop-bias")
                rng = random.Random(20261203)
                bodies = [make(rng)[2] for _ in range(2000)]
                path = "/api/v1/exercises/backprop-bias/submissions"
                run = partial(wrk_client.run_wrk, front, token)
                outcomes, _ = run("POST", path, bodies, 16, seconds, unique_base=10**7)  # warm
                more, saturated = run("POST", path, bodies, 16, seconds, unique_base=2 * 10**7)
                outcomes += more
                capacity = saturated["rps"]
                offered = capacity / 2
                think_ms = 1000 * PACED_CLIENTS / offered
                more, paced = run(
                    "POST",
                    path,
                    bodies,
                    PACED_CLIENTS,
                    2 * seconds,
                    unique_base=3 * 10**7,
                    think_ms=think_ms,
                )
                outcomes += more
                stalled = healthz_beside_stalled(front, front_port)
                _, healthz = run("GET", "/healthz", [], 16, seconds)
            checked = verify(db_url, outcomes)
            problems = checked["missing"] + checked["score_mismatch"] + checked["duplicate_keys"]
            return {
                "capacity": capacity,
                "offered": offered,
                "paced": paced,
                "stalled": stalled,
                "healthz": healthz["rps"],
                "verify": f"{checked['acknowledged']:,} of {checked['acknowledged']:,}"
                if not problems and not paced["errors"]
                else f"PROBLEMS {checked} errors {paced['errors']}",
            }
    finally:
        if web is not None:
            stop(web)
        drop_database(name)


def healthz_beside_stalled(base: str, port: int) -> float:
    """Open ``STALLED`` connections that stall (one byte of a request line, or headers and
    one byte of a 1000-byte body); return the slowest of three /healthz requests, in seconds."""
    stalled = []
    try:
        for number in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", port))
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
            httpx.get(base + "/healthz", timeout=30).raise_for_status()
            slowest = max(slowest, time.monotonic() - started)
        return slowest
    finally:
        for sock in stalled:
            sock.close()


if __name__ == "__main__":
    main()
