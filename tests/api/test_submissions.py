"""The first API routes: submit and read back, with bearer tokens."""

import pytest
from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Submission
from grader.services.users import revoke_token
from tests.api.helpers import ANSWERS, RESULT_FIELDS, auth


def test_submission_is_graded_stored_and_readable(imported, client, make_token):
    token = make_token()
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "lms-42", "answers": ANSWERS},
        headers=auth(token),
    )
    assert response.status_code == 201, response.json
    result = response.json
    assert set(result) == RESULT_FIELDS
    assert result["user"] == "lms-42" and result["exercise"] == "jacobian-shape"
    assert result["status"] == "graded" and result["score"] == 2.0 and result["max_score"] == 6.0
    parts = {p["id"]: p for p in result["parts"]}
    assert parts["shape"]["correct"] and not parts["do_dh"]["correct"]
    assert "W₂ᵀ" in parts["do_dh"]["feedback"]
    assert response.headers["Location"].endswith(f"/api/v1/submissions/{result['id']}")

    with imported.app_context():
        row = db.session.get(Submission, result["id"])
        assert row.seed == result["seed"] and row.answers == ANSWERS and row.source == "api"
        assert row.parts[2]["diagnosis"] == "mistake:0"

    again = client.get(f"/api/v1/submissions/{result['id']}", headers=auth(token))
    assert again.status_code == 200 and again.json == result


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_missing_or_wrong_token_is_401_problem(imported, client, headers):
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "u", "answers": ANSWERS},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and response.json["type"].endswith("/unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(imported, client, make_token):
    token = make_token()
    with imported.app_context():
        from grader.models import ApiToken

        revoke_token(db.session.scalar(select(ApiToken.id)))
    response = client.get("/api/v1/exercises", headers=auth(token))
    assert response.status_code == 401


def test_scope_not_enough_is_403(imported, client, make_token):
    token = make_token("read:scores")
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "u", "answers": ANSWERS},
        headers=auth(token),
    )
    assert response.status_code == 403 and "submit" in response.json["detail"]


@pytest.mark.parametrize(
    "body,status,kind",
    [
        ({"user": "u", "answers": {"nope": "x"}}, 422, "unknown-part"),
        ({"user": "u", "answers": "n×m"}, 422, "invalid-answers"),
        ({"user": "", "answers": ANSWERS}, 422, "invalid-user"),
        ({"user": "a b", "answers": ANSWERS}, 422, "invalid-user"),
        ({"user": "u", "answers": ANSWERS, "extra": 1}, 422, "unknown-field"),
        ({"user": "u", "answers": {"shape": "n×k"}}, 422, "unreadable-answer"),
    ],
)
def test_bad_bodies_are_problems_and_store_nothing(
    imported, client, make_token, body, status, kind
):
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions", json=body, headers=auth(make_token())
    )
    assert response.status_code == status, response.json
    assert response.json["type"].endswith("/" + kind)
    with imported.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_unreadable_answer_lists_the_part(imported, client, make_token):
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "u", "answers": {"shape": "n×k"}},
        headers=auth(make_token()),
    )
    assert response.json["parts"] == [
        {"id": "shape", "feedback": "Unknown size 'k'; the sizes here are: d, h, m, n, q."}
    ]


def test_not_json_is_415_and_broken_json_400(imported, client, make_token):
    url = "/api/v1/exercises/jacobian-shape/submissions"
    token = make_token()
    assert client.post(url, data="x", headers=auth(token)).status_code == 415
    response = client.post(url, data="{", content_type="application/json", headers=auth(token))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_unknown_exercise_and_submission_are_404(imported, client, make_token):
    token = make_token()
    response = client.post(
        "/api/v1/exercises/nope/submissions", json={"user": "u", "answers": {}}, headers=auth(token)
    )
    assert response.status_code == 404 and response.json["type"].endswith("exercise-not-found")
    assert client.get("/api/v1/submissions/999", headers=auth(token)).status_code == 404


def test_flask_404_and_405_are_problems(client):
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.delete("/api/v1/exercises")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_oversized_body_is_413_problem(imported, client, make_token):
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        data="{" + " " * 300_000 + "}",
        content_type="application/json",
        headers=auth(make_token()),
    )
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


def test_idempotent_retry_returns_first_and_stores_once(imported, client, make_token):
    token = make_token()
    url = "/api/v1/exercises/jacobian-shape/submissions"
    headers = auth(token) | {"Idempotency-Key": "abc-1"}
    first = client.post(url, json={"user": "u", "answers": ANSWERS}, headers=headers)
    second = client.post(url, json={"user": "u", "answers": ANSWERS}, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json == second.json
    changed = client.post(url, json={"user": "u", "answers": {"shape": "m×n"}}, headers=headers)
    assert changed.status_code == 422 and changed.json["type"].endswith("idempotency-key-reused")
    with imported.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


def test_exercise_list_and_public_spec(imported, client, make_token):
    token = make_token("read:scores")
    listing = client.get("/api/v1/exercises", headers=auth(token)).json["items"]
    entry = next(e for e in listing if e["slug"] == "jacobian-shape")
    assert entry["version"] == 1 and entry["max_score"] == 6.0
    spec = client.get("/api/v1/exercises/jacobian-shape", headers=auth(token)).json
    text = str(spec)
    assert "mistakes" not in text and "'answer'" not in text and "shape of Xᵀ" not in text
    assert spec["parts"][0]["prompt"]


@pytest.mark.parametrize(
    "answers",
    [
        {"shape": "n\x00m"},
        {"vector_or_matrix": ["dJ_do\x00"]},
    ],
)
def test_nul_characters_are_refused_not_stored(imported, client, make_token, answers):
    """PostgreSQL cannot store NUL in text or JSONB: found by schemathesis as a 500."""
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "u", "answers": answers},
        headers=auth(make_token()),
    )
    assert response.status_code == 422 and response.json["type"].endswith("/invalid-answers")
    assert "NUL" in response.json["detail"]


def test_a_literal_backslash_u0000_is_an_ordinary_answer(imported, client, make_token):
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "u", "answers": {"vector_or_matrix": ["\\u0000"]}},
        headers=auth(make_token()),
    )
    assert response.status_code != 500 and "NUL" not in str(response.json)


def test_a_type_error_after_validation_is_a_logged_500_not_the_students_fault(
    imported, client, make_token, monkeypatch, caplog
):
    """Only MalformedAnswers is a 422 invalid-answers: a built-in TypeError raised by the
    service's own code once the answers passed validation is a bug, answered 500 and logged."""
    from grader.services import grading

    def broken(part):
        raise TypeError("a bug in the service")

    monkeypatch.setattr(grading, "is_deferred", broken)
    response = client.post(
        "/api/v1/exercises/jacobian-shape/submissions",
        json={"user": "u", "answers": ANSWERS},
        headers=auth(make_token()),
    )
    assert response.status_code == 500
    assert response.json["type"].endswith("/internal-error")
    assert "a bug in the service" in caplog.text
    with imported.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
