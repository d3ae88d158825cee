"""The webhook routes: made, listed, deleted and their deliveries read by an admin token of the
course; another course's hooks are a 404; URLs the server will not call are a 422."""

from __future__ import annotations

import pytest

from grader.extensions import db
from grader.models import Exercise
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem

HOOK = "https://lms.example.edu/grader-hook"


@pytest.fixture()
def courses(imported):
    """Courses alpha and beta assigning jacobian-shape; admin tokens of each, a submit token of
    alpha and an all-courses admin token."""
    from grader.services.courses import create_course, ensure_assignment
    from grader.services.users import create_token

    with imported.app_context():
        exercise = db.session.scalar(db.select(Exercise).where(Exercise.slug == "jacobian-shape"))
        alpha, beta = create_course("alpha", "Alpha"), create_course("beta", "Beta")
        ensure_assignment(alpha, exercise)
        ensure_assignment(beta, exercise)
        db.session.commit()
        return {
            "a": create_token("admin-a", ("admin",), alpha)[1],
            "b": create_token("admin-b", ("admin",), beta)[1],
            "a-submit": create_token("lms-a", ("submit", "read:scores"), alpha)[1],
            "all": create_token("root", ("admin",), all_courses=True)[1],
        }


def test_create_list_delete(client, courses):
    made = client.post("/api/v1/webhooks", json={"url": HOOK}, headers=auth(courses["a"]))
    assert made.status_code == 201, made.json
    assert made.json["secret"].startswith("whsec_") and made.json["course"] == "alpha"
    assert set(made.json["events"]) == {
        "submission.graded",
        "submission.queued",
        "submission.needs_review",
        "submission.error",
    }
    listed = client.get("/api/v1/webhooks", headers=auth(courses["a"])).json
    assert [h["id"] for h in listed["items"]] == [made.json["id"]]
    assert "secret" not in listed["items"][0]
    mirrored = client.get("/api/v1/courses/alpha/webhooks", headers=auth(courses["all"])).json
    assert [h["id"] for h in mirrored["items"]] == [made.json["id"]]
    hook = made.json["id"]
    assert client.delete(f"/api/v1/webhooks/{hook}", headers=auth(courses["a"])).status_code == 204
    gone = client.delete(f"/api/v1/webhooks/{hook}", headers=auth(courses["a"]))
    assert is_problem(gone, 404, "webhook-not-found")


def test_another_courses_hooks_are_404(client, courses):
    made = client.post(
        "/api/v1/webhooks",
        json={"url": HOOK, "events": ["submission.graded"]},
        headers=auth(courses["a"]),
    ).json
    hook = made["id"]
    b = auth(courses["b"])
    assert client.get("/api/v1/webhooks", headers=b).json["items"] == []
    assert is_problem(client.delete(f"/api/v1/webhooks/{hook}", headers=b), 404)
    assert is_problem(client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=b), 404)
    assert is_problem(
        client.get("/api/v1/courses/alpha/webhooks", headers=b), 404, "course-not-found"
    )
    assert is_problem(
        client.post("/api/v1/courses/alpha/webhooks", json={"url": HOOK}, headers=b), 404
    )
    submit_only = client.get("/api/v1/webhooks", headers=auth(courses["a-submit"]))
    assert is_problem(submit_only, 403, "insufficient-scope")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://lms.example.edu/hook"},
        {"url": "http://127.0.0.1:8080/hook"},
        {"url": "http://169.254.169.254/latest"},
        {"url": "http://localhost/hook"},
        {"url": "https://lms.example.edu:70000/hook"},
        {"url": "not a url"},
        {"url": HOOK, "events": ["grade.changed"]},
        {"url": HOOK, "events": []},
        {"url": HOOK, "secret": "mine"},
    ],
)
def test_bad_hooks_are_422(client, courses, body):
    response = client.post("/api/v1/webhooks", json=body, headers=auth(courses["a"]))
    assert is_problem(response, 422), response.json


def test_deliveries_are_listed_paged_and_redelivered(client, courses, imported):
    """Deliveries appear per change (newest first, paged); a redelivery keeps the event id."""
    hook = client.post("/api/v1/webhooks", json={"url": HOOK}, headers=auth(courses["a"])).json
    for user in ("ann", "bob", "cat"):
        response = client.post(
            "/api/v1/courses/alpha" + SUBMIT_URL[len("/api/v1") :],
            json={"user": user, "answers": ANSWERS},
            headers=auth(courses["a-submit"]),
        )
        assert response.status_code == 201, response.json
    url = f"/api/v1/webhooks/{hook['id']}/deliveries"
    first = client.get(url + "?limit=2", headers=auth(courses["a"])).json
    assert len(first["items"]) == 2 and first["links"]["next"]
    rest = client.get(first["links"]["next"], headers=auth(courses["a"])).json
    items = first["items"] + rest["items"]
    seqs = [d["change_seq"] for d in items]
    assert len(items) == 3 and seqs == sorted(seqs, reverse=True)
    users = {d["payload"]["submission"]["user"] for d in items}
    assert users == {"ann", "bob", "cat"}
    # lms.example.edu does not resolve here (or is public and refuses): never delivered
    assert all(d["state"] == "pending" and d["attempts"] == 1 for d in items)
    assert all(d["last_error"] and d["next_attempt_at"] for d in items)
    event = items[0]["event_id"]
    again = client.post(f"{url}/{event}/redeliver", headers=auth(courses["a"]))
    assert again.status_code == 202 and again.json["event_id"] == event
    assert again.json["attempts"] == 2
    for bad in ("0" * 36, "nope", "00000000-0000-0000-0000-000000000000"):
        response = client.post(f"{url}/{bad}/redeliver", headers=auth(courses["a"]))
        assert is_problem(response, 404), bad
    other = client.post(f"{url}/{event}/redeliver", headers=auth(courses["b"]))
    assert is_problem(other, 404, "webhook-not-found")
    assert is_problem(client.get(url + "?cursor=%%%", headers=auth(courses["a"])), 400)
    huge = client.get(f"/api/v1/webhooks/{2**40}/deliveries", headers=auth(courses["a"]))
    assert is_problem(huge, 404)
