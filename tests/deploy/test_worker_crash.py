"""A Celery worker killed in the middle of a task loses nothing: the task is re-delivered to
another worker and the submission ends graded exactly once. Real Redis, real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from flask_migrate import upgrade

from grader import config as grader_config
from grader import create_app
from grader.extensions import db
from grader.models import Submission
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth
from tests.deploy.conftest import ROOT

CELERY = str(Path(sys.executable).with_name("celery"))


def _worker(env: dict[str, str], log_file: Path) -> subprocess.Popen:
    with log_file.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [
                CELERY,
                "-A",
                "tests.deploy.worker_app",
                "worker",
                "--concurrency",
                "1",
                "-P",
                "prefork",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def queueing_app(redis_url: str, tmp_path: Path, monkeypatch) -> tuple[Any, str, dict, Path]:
    """Return (app, token, worker environment, grade log): the exercises imported into a fresh
    SQLite database, and this process's choice parts sent to the Celery queue on ``redis_url``
    (standing in for code, as ``tests.deploy.worker_app`` grades them and logs to the file)."""
    from grader.services import grading
    from grader.services.exercises import import_exercises
    from grader.services.users import create_token

    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    config = grader_config.TestConfig(url, tmp_path / "instance")
    config.GRADER_EXERCISES_DIR = ROOT / "exercises"
    app = create_app(config)
    with app.app_context():
        upgrade()
        import_exercises([ROOT / "exercises"])
        token = create_token("queue", ("submit", "read:scores"))[1]
    producer = Celery("producer", broker=redis_url)
    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    monkeypatch.setitem(
        app.extensions,
        grading.ENQUEUE,
        lambda sid: producer.send_task("grader.grade_deferred", args=[sid]),
    )
    grade_log = tmp_path / "grades.log"
    grade_log.touch()
    env = os.environ | {
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": redis_url,
        "GRADER_TEST_GRADE_LOG": str(grade_log),
        "GRADER_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test",
    }
    return app, token, env, grade_log


@pytest.mark.slow
def test_worker_killed_mid_task_loses_nothing(redis_url, tmp_path, monkeypatch):
    app, token, env, grade_log = queueing_app(redis_url, tmp_path, monkeypatch)
    response = app.test_client().post(
        SUBMIT_URL, json={"user": "crash", "answers": ANSWERS}, headers=auth(token)
    )
    assert response.status_code == 202 and response.json["status"] == "queued"
    submission_id = response.json["id"]

    env = env | {"GRADER_TEST_VISIBILITY": "4", "GRADER_TEST_GRADE_DELAY": "30"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    first = _worker(env, tmp_path / "worker1.log")
    try:
        _wait_for(lambda: "start" in grade_log.read_text(), 60, "the first worker to start")
        _stop(first, signal.SIGKILL)  # the whole worker, parent and child, dies mid-task
    finally:
        _stop(first, signal.SIGKILL)
    with app.app_context():
        assert db.session.get(Submission, submission_id).status == "queued"

    second = _worker(env | {"GRADER_TEST_GRADE_DELAY": "0"}, tmp_path / "worker2.log")
    try:
        _wait_for(lambda: "done" in grade_log.read_text(), 90, "the task to be re-delivered")
        time.sleep(2)  # a duplicate delivery would show up here
    finally:
        _stop(second)
    lines = grade_log.read_text().split("\n")
    assert [line for line in lines if line.startswith("done")] == [f"done {submission_id} graded"]
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        assert row.status == "graded" and row.graded_at is not None
        assert (
            row.score
            == app.test_client()
            .get(f"/api/v1/submissions/{submission_id}", headers=auth(token))
            .json["score"]
        )
        assert all(part["status"] != "queued" for part in row.parts)
        db.session.remove()
        db.engine.dispose()
