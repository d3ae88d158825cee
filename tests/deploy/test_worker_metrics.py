"""A Celery worker serves Prometheus metrics (GRADER_WORKER_METRICS_PORT): what its pool's
children graded shows up there. Real Redis, a real worker process."""

from __future__ import annotations

import urllib.request

import pytest

from grader.extensions import db
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth
from tests.deploy.conftest import free_port
from tests.deploy.test_worker_crash import _stop, _wait_for, _worker, queueing_app
from tests.test_metrics import sample


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


@pytest.mark.slow
def test_worker_serves_what_its_children_graded(redis_url, tmp_path, monkeypatch):
    app, token, env, grade_log = queueing_app(redis_url, tmp_path, monkeypatch)
    port = free_port()
    env = env | {
        "GRADER_WORKER_METRICS_PORT": str(port),
        "GRADER_WORKER_METRICS_ADDR": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    worker = _worker(env, tmp_path / "worker.log")
    try:
        _wait_for(lambda: _answers(port), 60, "the worker's metrics server")
        before = scrape(port)
        assert sample(before, "grader_grading_duration_seconds_count", kind="choice") == 0
        client = app.test_client()
        for user in ("m1", "m2"):
            queued = client.post(
                SUBMIT_URL, json={"user": user, "answers": ANSWERS}, headers=auth(token)
            )
            assert queued.status_code == 202, queued.json
        _wait_for(lambda: grade_log.read_text().count("done") == 2, 60, "both gradings")
        after = scrape(port)
    finally:
        _stop(worker)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    # graded in the pool's child process, served by the worker's main process
    assert sample(after, "grader_grading_duration_seconds_count", kind="choice") == 2
    assert (
        sample(after, "grader_submissions_total", exercise="jacobian-shape", status="graded") >= 2
    )


def _answers(port: int) -> bool:
    try:
        scrape(port)
    except OSError:
        return False
    return True
