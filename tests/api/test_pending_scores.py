"""A score that is not known yet is null, never 0: a queued result, a part waiting for review, and
a best score whose submissions all wait for review."""

from __future__ import annotations

import pytest

from grader.extensions import db
from grader.models import Submission, User
from grader.services import grading
from grader.services.review import grade_review
from grader.services.users import create_user
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth

ESSAY = {
    "partition": ["yes-model-parallel"],
    "discussion": "Partition when the parameters do not fit on one GPU.",
}
ESSAY_URL = "/api/v1/exercises/multi-gpu/submissions"


@pytest.fixture()
def left_queued(imported, monkeypatch):
    """Choice parts go through the queue, and the queue does not run them."""
    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    monkeypatch.setitem(imported.extensions, grading.ENQUEUE, lambda _id: None)


def test_a_queued_result_has_no_score_until_graded(imported, client, make_token, left_queued):
    token = make_token()
    created = client.post(SUBMIT_URL, json={"user": "q-1", "answers": ANSWERS}, headers=auth(token))
    assert created.status_code == 202
    for body in (created.json, client.get(created.headers["Location"], headers=auth(token)).json):
        assert body["status"] == "queued" and body["score"] is None
        parts = {p["id"]: p for p in body["parts"]}
        assert parts["vector_or_matrix"]["status"] == "queued"
        assert parts["vector_or_matrix"]["score"] is None
        assert parts["shape"]["score"] == 1.0  # graded at once: its score is known
    with imported.app_context():
        assert grading.finish_deferred(created.json["id"]) == "graded"
    graded = client.get(created.headers["Location"], headers=auth(token)).json
    assert graded["status"] == "graded" and graded["score"] == 2.0


def test_the_page_of_a_submission_waiting_for_review_says_pending(imported, client):
    with imported.app_context():
        user = create_user("q@example.org", "student", "pw-123456789")
        submission, _ = grading.submit("multi-gpu", user, ESSAY, "web")
        sid = submission.id
    client.post("/login", data={"email": "q@example.org", "password": "pw-123456789"})
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Score <strong>pending</strong>" in page


def test_a_submission_waiting_for_review_has_no_score(imported, client, make_token):
    token = make_token()
    created = client.post(ESSAY_URL, json={"user": "r-1", "answers": ESSAY}, headers=auth(token))
    assert created.status_code == 201
    body = created.json
    assert body["status"] == "needs_review" and body["score"] is None
    essay = next(p for p in body["parts"] if p["id"] == "discussion")
    assert essay["status"] == "needs_review" and essay["score"] is None


def test_waiting_for_review_does_not_count_as_zero_in_best_scores(imported, client, make_token):
    token = make_token()
    answer = {"user": "r-2", "answers": ESSAY}
    first = client.post(ESSAY_URL, json=answer, headers=auth(token)).json
    cells = client.get("/api/v1/scores?exercise=multi-gpu", headers=auth(token)).json["items"]
    assert [(c["best_score"], c["submissions"], c["pending_review"]) for c in cells] == [
        (None, 1, 1)
    ]
    csv = client.get("/api/v1/scores?exercise=multi-gpu&format=csv", headers=auth(token))
    assert csv.get_data(as_text=True).splitlines()[1].split(",")[2] == ""
    # a second, graded submission with a lower score: the best is that score, not a zero
    no_essay = {"user": "r-2", "answers": {"partition": ["no-whole-graph"]}}
    second = client.post(ESSAY_URL, json=no_essay, headers=auth(token)).json
    assert second["status"] == "graded"
    cells = client.get("/api/v1/scores?exercise=multi-gpu", headers=auth(token)).json["items"]
    assert [(c["best_score"], c["pending_review"]) for c in cells] == [(second["score"], 1)]
    # once reviewed, the first submission's score counts
    with imported.app_context():
        teacher = create_user("t@example.org", "instructor", "pw-123456789")
        reviewed = grade_review(first["id"], "discussion", 2.0, "Good.", teacher)
        total = reviewed.score
        assert db.session.get(Submission, first["id"]).status == "graded"
        assert db.session.get(User, teacher.id) is not None
    cells = client.get("/api/v1/scores?exercise=multi-gpu", headers=auth(token)).json["items"]
    assert [(c["best_score"], c["pending_review"]) for c in cells] == [
        (max(total, second["score"]), 0)
    ]


def test_a_review_made_while_the_worker_grades_is_kept(
    imported, client, make_token, left_queued, monkeypatch
):
    token = make_token()
    created = client.post(ESSAY_URL, json={"user": "q-9", "answers": ESSAY}, headers=auth(token))
    assert created.status_code == 202
    sid = created.json["id"]
    with imported.app_context():
        teacher_id = create_user("t9@example.org", "instructor", "pw-123456789").id
    grade = grading.grade_answers

    def grade_while_an_instructor_reviews(*args, **kwargs):
        with imported.app_context():  # the essay is reviewed while the choice is graded
            grade_review(sid, "discussion", 2.0, "Good.", db.session.get(User, teacher_id))
        return grade(*args, **kwargs)

    monkeypatch.setattr(grading, "grade_answers", grade_while_an_instructor_reviews)
    with imported.app_context():
        assert grading.finish_deferred(sid) == "graded"
    body = client.get(created.headers["Location"], headers=auth(token)).json
    parts = {p["id"]: p for p in body["parts"]}
    assert parts["discussion"]["status"] == "graded" and parts["discussion"]["score"] == 2.0
    assert parts["partition"]["status"] == "graded" and body["status"] == "graded"
