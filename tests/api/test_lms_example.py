"""docs/lms-integration.md: its Python client runs against a live server, and every route its
curl examples name exists in the OpenAPI document."""

from __future__ import annotations

import csv
import io
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import grader.api.routes as routes
from grader.extensions import db

DOC = Path(__file__).resolve().parents[2] / "docs" / "lms-integration.md"


def _python_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    # The other block is the webhook receiver's check (tests/api/test_webhook_delivery.py).
    clients = [b for b in blocks if "def verify_webhook" not in b]
    assert len(clients) == 1, "the guide has one complete Python example"
    return clients[0]


@pytest.fixture()
def example(tmp_path):
    path = tmp_path / "lms_client.py"
    path.write_text(_python_block(), encoding="utf-8")
    return path


def test_python_example_runs_end_to_end(live_server, make_token, example, tmp_path):
    env = os.environ | {"GRADER_URL": live_server, "GRADER_TOKEN": make_token()}
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "jacobian-shape 6.0" in out
    assert "score 1.0 of 6.0" in out
    assert "retry returns the same submission: True" in out
    assert "synced 1 gradebook rows; nothing new since: True" in out
    rows = list(csv.reader(io.StringIO((tmp_path / "gradebook.csv").read_text())))
    assert rows == [
        ["user_id", "exercise", "best_score", "max_score", "last_submission_at"],
        ["lms-42", "jacobian-shape", "1", "6", rows[1][4]],
    ]


def test_python_example_polls_a_queued_result(
    live_server, make_token, example, monkeypatch, imported
):
    """The first reply says "queued" (202); the client polls Location until it is graded."""
    real_submit = routes.submit

    def queued_submit(*args, **kwargs):
        submission, created = real_submit(*args, **kwargs)
        assert submission.version.exercise.slug and submission.user  # load, then detach
        db.session.expunge(submission)  # the reply says queued; the stored row is graded
        submission.status = "queued"
        return submission, created

    monkeypatch.setattr(routes, "submit", queued_submit)
    monkeypatch.setenv("GRADER_URL", live_server)
    monkeypatch.setenv("GRADER_TOKEN", make_token())
    client = runpy.run_path(str(example), run_name="lms_client")
    status, _, first = client["call"](
        "POST",
        "/api/v1/exercises/jacobian-shape/submissions",
        {"user": "lms-7", "answers": {"shape": "n×m"}},
    )
    assert status == 202 and first["status"] == "queued"
    result = client["submit"]("jacobian-shape", "lms-7", {"shape": "m×n"}, "attempt-1")
    assert result["status"] == "graded" and result["score"] == 0.0


def test_example_errors_raise_with_the_problem_type(live_server, make_token, example, monkeypatch):
    monkeypatch.setenv("GRADER_URL", live_server)
    monkeypatch.setenv("GRADER_TOKEN", make_token())
    client = runpy.run_path(str(example), run_name="lms_client")
    with pytest.raises(ValueError, match="unknown-part"):
        client["submit"]("jacobian-shape", "lms-7", {"nope": "x"}, "attempt-2")


def test_curl_examples_name_documented_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/?]+", p) + "$") for p in paths]
    text = DOC.read_text(encoding="utf-8")
    used = set(re.findall(r"(?:\$GRADER|127\.0\.0\.1:5000)(/api/v1/[^\s\"'?]*)", text))
    assert len(used) >= 6
    for path in used:
        if path in ("/api/v1/openapi.json", "/api/v1/docs"):
            continue
        assert any(p.match(path) for p in patterns), path
