"""gunicorn.conf.py, and a real gunicorn: JSON logs, metrics across workers, a worker killed
in the middle of a load run."""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.load import wrk
from benchmarks.load.client import run_load
from tests.api.helpers import ANSWERS, SUBMIT_URL
from tests.deploy.conftest import ROOT, serve_app


def test_config_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GRADER_MAX_REQUESTS", "500")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["workers"] == 3 and conf["worker_class"] == "gthread"  # nginx is in front
    assert conf["limit_request_line"] == 8190  # nginx's 8 KiB: it answers longer lines itself
    assert conf["max_requests"] == 500 and conf["max_requests_jitter"] == 50
    assert conf["timeout"] > 0 and conf["graceful_timeout"] > 0
    assert conf["logger_class"] == "grader.observability.GunicornJsonLogger"
    assert conf["default_workers"](2) == 3 and conf["default_workers"](64) == 8
    (tmp_path / "counter_1.db").write_bytes(b"stale")
    conf["on_starting"](None)
    assert not list(tmp_path.glob("*.db"))


@pytest.fixture()
def served(tmp_path):
    """The app under gunicorn with 2 workers of 2 threads."""
    yield from serve_app(tmp_path)


@pytest.fixture()
def served_by_one_worker(tmp_path):
    """The app under gunicorn with 1 worker of 2 threads, keep-alive timeout 1 s."""
    yield from serve_app(tmp_path, workers=1, GRADER_KEEPALIVE="1")


def _json_lines(log: Path, logger: str) -> list[dict]:
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == logger:
                lines.append(record)
    return lines


def test_gunicorn_serves_json_logs_and_shared_metrics(served):
    base, token, log, _process, _app = served
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "trace-123"}
    with httpx.Client(base_url=base, headers=headers) as http:
        for i in range(12):
            assert (
                http.post(SUBMIT_URL, json={"user": f"g{i}", "answers": ANSWERS}).status_code == 201
            )
        metrics_text = http.get("/metrics").text
    graded = [
        line
        for line in metrics_text.splitlines()
        if line.startswith(
            'grader_submissions_total{exercise="jacobian-shape",kind="shape",status="graded"}'
        )
    ]
    assert graded and float(graded[0].rsplit(" ", 1)[1]) == 12.0  # summed over both workers
    time.sleep(0.5)
    requests = [r for r in _json_lines(log, "grader.request") if r["request_id"] == "trace-123"]
    assert len(requests) >= 12
    first = requests[0]
    assert first["method"] == "POST" and first["status"] == 201 and first["token_id"] == 1
    assert first["duration_ms"] > 0 and first["time"].endswith("Z")
    access = [r for r in _json_lines(log, "gunicorn.access") if r["request_id"] == "trace-123"]
    assert access and access[0]["status"] == 201


def test_a_worker_killed_under_load_loses_no_acknowledged_submission(served):
    from sqlalchemy import select

    from grader.extensions import db
    from grader.models import Submission

    base, token, _log, process, app = served
    results: list[tuple[int, dict]] = []
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            while not stop.is_set():
                try:
                    response = http.post(SUBMIT_URL, json={"user": f"k{n}", "answers": ANSWERS})
                    results.append((response.status_code, response.json()))
                except httpx.HTTPError:
                    results.append((0, {}))  # a connection cut by the dying worker

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    victim = int(children.stdout.split()[0])
    os.kill(victim, signal.SIGKILL)
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(30)
    after_kill = results[-20:]
    assert all(status == 201 for status, _ in after_kill), "the master did not replace the worker"
    assert {status for status, _ in results} <= {201, 0}
    acknowledged = {body["id"]: body["score"] for status, body in results if status == 201}
    with app.app_context():
        stored = dict(db.session.execute(select(Submission.id, Submission.score)).all())
        db.engine.dispose()
    assert all(stored[i] == score for i, score in acknowledged.items())


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (apt-get install wrk)")
def test_the_wrk_load_client_reports_every_response(served):
    """The load test's client: every response wrk saw is in its outcomes, with the body the
    server sent, so the run can check each acknowledged submission against the database."""
    from grader.extensions import db
    from grader.models import Submission

    base, token, _log, _process, app = served
    bodies = [{"user": f"wrk-{i}", "answers": ANSWERS} for i in range(7)]
    outcomes, summary = wrk.run_wrk(base, token, "POST", SUBMIT_URL, bodies, 4, 2)
    assert summary["requests"] == len(outcomes) > 0 and summary["errors"] == 0
    assert summary["rps"] > 0 and 0 < summary["p50_ms"] <= summary["p99_ms"]
    assert {o.status for o in outcomes} == {201}
    with app.app_context():
        stored = {s.id: s for s in db.session.scalars(db.select(Submission))}
        for outcome in outcomes:
            row = stored[outcome.body["id"]]
            assert row.score == outcome.body["score"] and row.idempotency_key.startswith("wrk-")
        keys = [s.idempotency_key for s in stored.values()]
        assert len(keys) == len(set(keys))
        # wrk stops with a request in flight on each connection: stored, never answered to it
        assert len(outcomes) <= len(keys) <= len(outcomes) + 4
    got, ceiling = wrk.run_wrk(base, token, "GET", "/healthz", [], 2, 1)
    assert ceiling["requests"] == len(got) > 0 and {o.status for o in got} == {200}


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (apt-get install wrk)")
def test_the_wrk_load_client_paces_clients_that_think(served):
    """With a think time, each connection waits a random time of that mean before each request
    (the load test's student pace): 4 connections waiting 250 ms on average send about 16
    requests a second, where sending back to back they send as many as the server answers."""
    base, token, _log, _process, _app = served
    _, eager = wrk.run_wrk(base, token, "GET", "/healthz", [], 4, 2)
    got, paced = wrk.run_wrk(base, token, "GET", "/healthz", [], 4, 2, think_ms=250)
    assert {o.status for o in got} == {200} and paced["errors"] == 0
    # about 32 expected; the waits are random, and the bound leaves a wide margin
    assert 8 <= paced["requests"] <= 64 < eager["requests"]


def test_the_python_load_client_paces_clients_that_think(served):
    """The asyncio client (used where wrk is not installed) paces its clients the same way."""
    base, token, _log, _process, _app = served

    def make(_rng):
        return "GET", "/healthz", None

    outcomes, elapsed = asyncio.run(run_load(base, token, make, 4, 2, 10_000, think=0.25))
    assert {o.status for o in outcomes} == {200} and elapsed >= 2
    assert 8 <= len(outcomes) <= 64


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def test_a_request_sent_in_pieces_is_answered(served_by_one_worker):
    """A request whose bytes arrive in two pieces, apart, is read whole and answered."""
    base, *_ = served_by_one_worker
    host, port = _address(base)
    with socket.create_connection((host, port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET /hea")
        time.sleep(0.5)
        sock.sendall(f"lthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in answer.replace(b" ", b"")
