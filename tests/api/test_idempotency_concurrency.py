"""Idempotent submissions under real concurrency: two requests with the same key at once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

import grader.services.grading as grading
from grader.extensions import db
from grader.models import Submission, User
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth


def _post_together(app, headers, bodies, monkeypatch):
    """Post ``bodies`` from one thread each; every thread reaches grading (past the replay
    lookup) before any of them stores, so the unique constraint decides the race."""
    barrier = threading.Barrier(len(bodies), timeout=30)
    real_grade = grading.grade_answers

    def grade_in_step(*args, **kwargs):
        barrier.wait()
        return real_grade(*args, **kwargs)

    monkeypatch.setattr(grading, "grade_answers", grade_in_step)
    results: list = [None] * len(bodies)

    def worker(index: int) -> None:
        with app.test_client() as client:
            response = client.post(SUBMIT_URL, json=bodies[index], headers=headers)
            results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_same_key_at_once_stores_one_submission(imported, make_token, monkeypatch):
    headers = auth(make_token()) | {"Idempotency-Key": "race-1"}
    body = {"user": "lms-race", "answers": ANSWERS}
    results = _post_together(imported, headers, [body, body], monkeypatch)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 201], results
    assert results[0][1] == results[1][1]  # the replay is the first result, field for field
    assert _count(imported, Submission) == 1
    assert _count(imported, User) == 1  # the LMS user was created once, too


def test_same_key_different_body_at_once_is_one_submission_and_a_422(
    imported, make_token, monkeypatch
):
    headers = auth(make_token()) | {"Idempotency-Key": "race-2"}
    bodies = [
        {"user": "lms-race", "answers": ANSWERS},
        {"user": "lms-race", "answers": {"shape": "m×n"}},
    ]
    results = _post_together(imported, headers, bodies, monkeypatch)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 422], results
    loser = next(body for status, body in results if status == 422)
    assert loser["type"].endswith("/idempotency-key-reused")
    assert _count(imported, Submission) == 1


def test_different_keys_at_once_store_two(imported, make_token, monkeypatch):
    token = make_token()
    barrier_bodies = [{"user": "lms-a", "answers": ANSWERS}, {"user": "lms-b", "answers": ANSWERS}]
    results = _post_together(imported, auth(token), barrier_bodies, monkeypatch)
    assert sorted(status for status, _ in results) == [201, 201]
    assert _count(imported, Submission) == 2
