"""Prometheus metrics: request latency, submissions by status, grading latency, queue depth."""

from __future__ import annotations

import re

import pytest

from grader import metrics
from grader.extensions import db
from grader.models import Submission
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth


def sample(text: str, name: str, **labels: str) -> float:
    """Return the value of one sample of the exposition ``text`` (0.0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else "")) and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture()
def metered(imported, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("GRADER_METRICS_TOKEN", raising=False)
    metrics.init_app(imported)
    return imported


def test_metrics_count_submissions_requests_and_grading(metered, make_token):
    client = metered.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    token = make_token()
    response = client.post(SUBMIT_URL, json={"user": "m1", "answers": ANSWERS}, headers=auth(token))
    assert response.status_code == 201
    text = client.get("/metrics").get_data(as_text=True)
    for kind in ("shape", "choice"):
        key = dict(exercise="jacobian-shape", kind=kind, status="graded")
        assert (
            sample(text, "grader_submissions_total", **key)
            == sample(before, "grader_submissions_total", **key) + 1
        )
    assert (
        sample(text, "grader_grading_duration_seconds_count", kind="shape")
        >= sample(before, "grader_grading_duration_seconds_count", kind="shape") + 2
    )
    latency = dict(method="POST", endpoint="api.submit", status="201")
    endpoint = next(
        m for m in re.findall(r'endpoint="([^"]+)"', text) if "submi" in m and "POST" in text
    )
    latency["endpoint"] = endpoint
    assert sample(text, "grader_http_request_duration_seconds_count", **latency) >= 1
    assert "grader_queue_depth 0.0" in text


def test_queue_depth_counts_queued_rows_at_scrape(metered, make_token, monkeypatch):
    from grader.services import grading

    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    monkeypatch.setitem(metered.extensions, grading.ENQUEUE, lambda _id: None)  # nobody serves
    client = metered.test_client()
    token = make_token()
    for user in ("q1", "q2"):
        assert (
            client.post(
                SUBMIT_URL, json={"user": user, "answers": ANSWERS}, headers=auth(token)
            ).status_code
            == 202
        )
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "grader_queue_depth") == 2.0
    assert (
        sample(
            text,
            "grader_submissions_total",
            exercise="jacobian-shape",
            kind="choice",
            status="queued",
        )
        >= 2
    )
    with metered.app_context():
        assert db.session.query(Submission).filter_by(status="queued").count() == 2


def test_metrics_token_is_required_when_configured(metered, monkeypatch):
    metered.config["GRADER_METRICS_TOKEN"] = "s3cret"  # as GRADER_METRICS_TOKEN sets it
    client = metered.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth("wrong")).status_code == 401
    assert client.get("/metrics", headers=auth("s3cret")).status_code == 200


def test_metrics_survive_a_database_outage(metered, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("down"))

    client = metered.test_client()
    with metered.app_context():
        monkeypatch.setattr(db.session, "scalar", down)
        response = client.get("/metrics")
    assert response.status_code == 200
    assert "grader_queue_depth" not in response.get_data(as_text=True).replace(
        "# HELP grader_queue_depth", ""
    )


def test_rolled_back_submissions_are_not_counted(metered):
    from grader.models import ExerciseVersion, User

    with metered.app_context():
        before = metrics.SUBMISSIONS.labels("jacobian-shape", "shape", "graded")._value.get()
        version = db.session.query(ExerciseVersion).first()
        user = User(email="rb@example.org", role="student")
        db.session.add(user)
        db.session.flush()
        db.session.add(
            Submission(
                user_id=user.id,
                exercise_version_id=version.id,
                answers={},
                seed=1,
                status="graded",
                score=0,
                max_score=1,
                parts=[],
                source="api",
            )
        )
        db.session.flush()
        db.session.rollback()
        after = metrics.SUBMISSIONS.labels("jacobian-shape", "shape", "graded")._value.get()
    assert after == before


def test_grading_a_part_observes_its_kind_latency(imported):
    from grader.catalog import parse_exercise
    from grader.services.grading import grade_answers

    spec = parse_exercise(
        (imported.config["GRADER_EXERCISES_DIR"] / "jacobian-shape.yaml").read_text()
    )
    histogram = metrics.GRADING_LATENCY.labels("shape")
    before = sum(b.get() for b in histogram._buckets)
    grade_answers(spec, {"shape": "n×m"}, seed=1)
    after = sum(b.get() for b in histogram._buckets)
    assert after == before + 1


def test_a_queued_submission_counts_queued_then_graded_once(metered, make_token, monkeypatch):
    from grader.services import grading

    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    client = metered.test_client()
    key = dict(exercise="jacobian-shape", kind="choice")
    before = client.get("/metrics").get_data(as_text=True)
    response = client.post(
        SUBMIT_URL, json={"user": "m1", "answers": ANSWERS}, headers=auth(make_token())
    )
    # stored as queued, then graded by the task (run in process: no broker)
    assert response.status_code == 201 and response.json["status"] == "graded"
    with metered.app_context():
        assert grading.finish_deferred(response.json["id"]) == "skipped"  # a redelivery
    text = client.get("/metrics").get_data(as_text=True)
    for status in ("queued", "graded"):
        assert (
            sample(text, "grader_submissions_total", **key, status=status)
            == sample(before, "grader_submissions_total", **key, status=status) + 1
        ), status
