"""GET /api/v1/scores: best score per user and exercise, filters, cursor pages and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from grader.extensions import db
from grader.models import Submission
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem

WRONG = {"shape": "m×n"}  # 0 of 6


def _submit(client, token, user, answers):
    response = client.post(SUBMIT_URL, json={"user": user, "answers": answers}, headers=auth(token))
    assert response.status_code == 201, response.json
    return response.json


def _set_created(app, submission_id, when):
    with app.app_context():
        db.session.get(Submission, submission_id).created_at = when
        db.session.commit()


@pytest.fixture()
def gradebook(imported, client, make_token):
    """Three users: ann (2 then 0), bob (0), cy (2); ann's second one is from 2025."""
    token = make_token()
    first = _submit(client, token, "ann", ANSWERS)
    late = _submit(client, token, "ann", WRONG)
    _submit(client, token, "bob", WRONG)
    _submit(client, token, "cy", ANSWERS)
    _set_created(imported, first["id"], datetime(2024, 3, 1, 12, tzinfo=UTC))
    _set_created(imported, late["id"], datetime(2025, 3, 1, 12, tzinfo=UTC))
    return token


def test_best_score_per_user_and_exercise(client, gradebook):
    body = client.get("/api/v1/scores", headers=auth(gradebook)).json
    rows = {row["user"]: row for row in body["items"]}
    assert set(rows) == {"ann", "bob", "cy"}
    assert rows["ann"] == {
        "user": "ann",
        "exercise": "jacobian-shape",
        "best_score": 2.0,
        "max_score": 6.0,
        "submissions": 2,
        "pending_review": 0,
        "last_submission_at": "2025-03-01T12:00:00Z",
        "updated_at": rows["ann"]["updated_at"],
    }
    assert rows["ann"]["updated_at"] > "2026"  # the grading, not the (back-dated) creation
    assert rows["bob"]["best_score"] == 0.0
    assert body["links"]["next"] is None
    assert body["links"]["self"].endswith("/api/v1/scores")


def test_filters_by_user_exercise_and_dates(client, gradebook):
    headers = auth(gradebook)
    only_bob = client.get("/api/v1/scores?user=bob", headers=headers).json["items"]
    assert [row["user"] for row in only_bob] == ["bob"]
    assert client.get("/api/v1/scores?exercise=nope", headers=headers).json["items"] == []
    assert (
        len(client.get("/api/v1/scores?exercise=jacobian-shape", headers=headers).json["items"])
        == 3
    )
    # Only ann's 2025 submission counts after 2025: her best is then 0.
    since = client.get("/api/v1/scores?user=ann&since=2025-01-01T00:00:00Z", headers=headers).json[
        "items"
    ]
    assert since[0]["best_score"] == 0.0 and since[0]["submissions"] == 1
    until = client.get(
        "/api/v1/scores?user=ann&until=2025-01-01T00:00:00%2B00:00", headers=headers
    ).json["items"]
    assert until[0]["best_score"] == 2.0 and until[0]["submissions"] == 1
    # A naive time is UTC; the bound is exclusive at until and inclusive at since.
    exact = client.get(
        "/api/v1/scores?user=ann&since=2024-03-01T12:00:00&until=2024-03-01T12:00:01",
        headers=headers,
    ).json["items"]
    assert exact[0]["submissions"] == 1
    none = client.get("/api/v1/scores?until=2020-01-01", headers=headers).json["items"]
    assert none == []


def test_cursor_pages_cover_every_row_once(client, gradebook):
    headers = auth(gradebook)
    url, seen = "/api/v1/scores?limit=1", []
    while url:
        page = client.get(url, headers=headers).json
        assert len(page["items"]) <= 1
        seen += [row["user"] for row in page["items"]]
        url = page["links"]["next"]
        if url:
            assert "limit=1" in url and "cursor=" in url
    assert seen == ["ann", "bob", "cy"]


@pytest.mark.parametrize(
    "query,kind",
    [
        ("cursor=!!!", "invalid-cursor"),
        ("cursor=bm9wZQ", "invalid-cursor"),
    ],
)
def test_bad_cursor_is_400(client, gradebook, query, kind):
    assert is_problem(client.get(f"/api/v1/scores?{query}", headers=auth(gradebook)), 400, kind)


@pytest.mark.parametrize(
    "query,kind",
    [
        ("since=yesterday", "invalid-since"),
        ("limit=0", "invalid-limit"),
        ("limit=100000", "invalid-limit"),
        ("format=xml", "invalid-format"),
        ("colour=red", "unknown-field"),
    ],
)
def test_bad_filters_are_422(client, gradebook, query, kind):
    assert is_problem(client.get(f"/api/v1/scores?{query}", headers=auth(gradebook)), 422, kind)


@pytest.mark.parametrize("how", ["query", "accept"])
def test_csv_gradebook(client, gradebook, how):
    headers = auth(gradebook)
    if how == "accept":
        response = client.get("/api/v1/scores", headers=headers | {"Accept": "text/csv"})
    else:
        response = client.get("/api/v1/scores?format=csv&limit=1", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["user_id", "exercise", "best_score", "max_score", "last_submission_at"]
    assert rows[1] == ["ann", "jacobian-shape", "2", "6", "2025-03-01T12:00:00Z"]
    assert len(rows) == 4  # the whole gradebook, whatever the page size


def test_json_is_the_default_for_browsers_and_clients(client, gradebook):
    response = client.get("/api/v1/scores", headers=auth(gradebook) | {"Accept": "*/*"})
    assert response.mimetype == "application/json"
    response = client.get(
        "/api/v1/scores?format=json", headers=auth(gradebook) | {"Accept": "text/csv"}
    )
    assert response.mimetype == "application/json"


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(imported, client, make_token):
    token = make_token()
    _submit(client, token, "-1", ANSWERS)
    _submit(client, token, "+1", ANSWERS)
    _submit(client, token, "@home", ANSWERS)
    text = client.get("/api/v1/scores?format=csv", headers=auth(token)).get_data(as_text=True)
    users = [row[0] for row in csv.reader(io.StringIO(text))][1:]
    assert sorted(users) == ["'+1", "'-1", "'@home"]


def test_queued_and_failed_submissions_do_not_count(imported, client, gradebook):
    with imported.app_context():
        row = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
        row.status, row.score = "error", 6.0
        db.session.commit()
    rows = client.get("/api/v1/scores?user=cy", headers=auth(gradebook)).json["items"]
    assert rows == []


def test_scores_need_read_scores_scope(client, gradebook, make_token):
    assert is_problem(
        client.get("/api/v1/scores", headers=auth(make_token("submit"))), 403, "insufficient-scope"
    )
    assert is_problem(client.get("/api/v1/scores"), 401, "unauthorized")


@pytest.mark.parametrize(
    "query",
    [
        "until=0001-01-01T00:15:01%2B01:00",  # year 0 in UTC (found by schemathesis)
        "since=9999-12-31T23:59:59-05:00",  # year 10000 in UTC
        "since=0001-01-01T00:00:00%2B14:00&format=csv",
    ],
)
def test_filter_times_beyond_the_calendar_are_edges_not_errors(client, gradebook, query):
    response = client.get(f"/api/v1/scores?{query}", headers=auth(gradebook))
    assert response.status_code == 200
