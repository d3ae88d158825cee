"""An assignment's policy through the API: attempts, penalties, score policies, due and close
times (a submission racing the close), feedback levels (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Submission, utcnow
from grader.services import grading
from grader.services.courses import assignment_for, default_course
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem

FULL = {
    "shape": "n×m",
    "dh_dz": "h×h",
    "do_dh": "q×h",
    "do_dW2": "q×q×h",
    "dJ_dW1": "h×d",
    "vector_or_matrix": ["dJ_db1", "dJ_do"],
}


def set_policy(app, **fields):
    """Set fields of jacobian-shape's assignment in the default course."""
    with app.app_context():
        assignment = assignment_for(default_course(), "jacobian-shape")
        for name, value in fields.items():
            setattr(assignment, name, value)
        db.session.commit()


def stored(app) -> list[Submission]:
    with app.app_context():
        return list(db.session.scalars(select(Submission).order_by(Submission.id)))


def post(client, token, answers, user="lms-1"):
    return client.post(SUBMIT_URL, json={"user": user, "answers": answers}, headers=auth(token))


def score_of(client, token, user="lms-1"):
    body = client.get(f"/api/v1/scores?user={user}", headers=auth(token)).json
    (item,) = body["items"]
    return item["best_score"], item["max_score"]


def test_max_attempts_refused_with_409_and_unreadable_answers_cost_none(
    imported, client, make_token
):
    token = make_token()
    set_policy(imported, max_attempts=2)
    assert post(client, token, ANSWERS).status_code == 201
    assert post(client, token, {"shape": "n×?"}).status_code == 422  # costs no attempt
    assert post(client, token, FULL).status_code == 201
    refused = post(client, token, FULL)
    assert is_problem(refused, 409, "attempts-exhausted")
    assert "all 2 attempts" in refused.json["detail"]
    assert [s.attempt for s in stored(imported)] == [1, 2]
    assert post(client, token, FULL, user="lms-2").status_code == 201  # per student


def test_attempt_penalty_points_and_each_score_policy(imported, client, make_token):
    token = make_token()
    set_policy(imported, attempt_penalty=0.5, free_attempts=1, points=12.0)
    assert post(client, token, ANSWERS).json["score"] == 2.0  # attempt 1: 2/6 → 4 of 12
    assert post(client, token, FULL).json["score"] == 6.0  # attempt 2: 12, less 50 % → 6
    assert score_of(client, token) == (12.0, 12.0)  # best: no attempt penalty
    set_policy(imported, score_policy="best-with-penalty")
    assert score_of(client, token) == (6.0, 12.0)
    assert post(client, token, ANSWERS).status_code == 201  # attempt 3 keeps nothing
    set_policy(imported, score_policy="last")
    assert score_of(client, token) == (0.0, 12.0)
    set_policy(imported, score_policy="best-with-penalty", attempt_penalty=0.25)
    assert score_of(client, token) == (9.0, 12.0)  # attempt 2: 12 × 0.75


def test_dates_refuse_before_opening_and_after_closing_and_mark_late(imported, client, make_token):
    token = make_token()
    now = utcnow()
    set_policy(imported, opens_at=now + timedelta(hours=1))
    refused = post(client, token, FULL)
    assert is_problem(refused, 409, "not-open") and "opens at" in refused.json["detail"]
    set_policy(
        imported,
        opens_at=now - timedelta(days=2),
        due_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        late_penalty=0.5,
    )
    assert post(client, token, FULL).status_code == 201
    assert [s.late for s in stored(imported)] == [True]
    assert score_of(client, token) == (3.0, 6.0)
    set_policy(imported, closes_at=now - timedelta(hours=1))
    closed = post(client, token, FULL)
    assert is_problem(closed, 409, "assignment-closed")
    assert "closed at" in closed.json["detail"] and "nothing was recorded" in closed.json["detail"]
    assert len(stored(imported)) == 1


@pytest.mark.parametrize(
    ("commit_offset", "accepted"),
    [(timedelta(milliseconds=1), False), (timedelta(0), True), (-timedelta(seconds=1), True)],
)
def test_a_submission_racing_the_close_is_decided_by_the_clock_at_its_insert(
    imported, client, make_token, monkeypatch, commit_offset, accepted
):
    """Admitted a second before the close, graded, and stored at ``close + offset``: the
    clock read in the storing transaction decides (closes_at itself is still open)."""
    token = make_token()
    close = utcnow() + timedelta(minutes=5)
    set_policy(imported, closes_at=close, due_at=close - timedelta(minutes=10))
    clock = iter([close - timedelta(seconds=1), close + commit_offset])
    monkeypatch.setattr(grading, "utcnow", lambda: next(clock))
    response = post(client, token, FULL)
    if accepted:
        assert response.status_code == 201
        (row,) = stored(imported)
        assert row.late and row.attempt == 1
    else:
        assert is_problem(response, 409, "assignment-closed")
        assert stored(imported) == []


def test_feedback_levels_in_the_api_result_and_full_feedback_kept(imported, client, make_token):
    token = make_token()
    admin = make_token("admin", "read:scores")
    set_policy(imported, feedback="hints")
    hinted = post(client, token, ANSWERS).json
    parts = {p["id"]: p for p in hinted["parts"]}
    assert parts["do_dh"]["feedback"] == "Your shape has the right sizes in the opposite order."
    assert "q×h" not in str(hinted["parts"]) and "W₂ᵀ" not in str(hinted["parts"])
    assert parts["shape"]["feedback"] == "Correct." and parts["dh_dz"]["feedback"] == "No answer."
    again = client.get(f"/api/v1/submissions/{hinted['id']}", headers=auth(token)).json
    assert again["parts"] == hinted["parts"]
    full = client.get(f"/api/v1/submissions/{hinted['id']}", headers=auth(admin)).json
    assert "W₂ᵀ" in {p["id"]: p for p in full["parts"]}["do_dh"]["feedback"]
    (row,) = stored(imported)
    assert "W₂ᵀ" in row.parts[2]["feedback"]  # stored in full
    set_policy(imported, feedback="score-only")
    only = client.get(f"/api/v1/submissions/{hinted['id']}", headers=auth(token)).json
    by_id = {p["id"]: p for p in only["parts"]}
    assert by_id["do_dh"]["feedback"] == "" and by_id["do_dh"]["score"] == 0.0
    assert by_id["shape"]["feedback"] == "" and by_id["shape"]["score"] == 1.0
    assert only["score"] == 2.0
    with imported.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1


def test_two_submissions_racing_for_the_last_attempt_store_one(imported, make_token, monkeypatch):
    """Both pass the early check (attempt 1 of 1) and grade at once; the unique attempt number
    stores one, and the other, counting again at its insert, is refused."""
    from tests.api.test_idempotency_concurrency import _post_together

    token = make_token()
    set_policy(imported, max_attempts=1)
    with imported.test_client() as client:  # creates and enrols the user, costs no attempt
        assert post(client, token, {"shape": "n×?"}, user="lms-race").status_code == 422
    body = {"user": "lms-race", "answers": FULL}
    results = _post_together(imported, auth(token), [body, body], monkeypatch)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409], results
    refused = next(body for status, body in results if status == 409)
    assert refused["type"].endswith("/attempts-exhausted")
    assert [s.attempt for s in stored(imported)] == [1]
