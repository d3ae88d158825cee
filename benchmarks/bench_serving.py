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
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks.load.run import BIN, ROOT, spawn, stop, wait_http

WORKERS = ("gthread", "grader.serving.ThreadWorker")
SILENT = (0, 6, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each wrk run")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
