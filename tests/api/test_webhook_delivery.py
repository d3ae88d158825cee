"""Webhooks end to end: a receiver that is down for an hour, then recovers, gets every event
exactly once (by event id) with a valid signature, whether the event came from the API, a
review or a regrade, and whether its queue message was lost. Time is a clock the test moves:
the beat task runs as it would every few minutes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import grader.services.webhook_delivery as delivery
import grader.services.webhooks as webhooks
from grader import tasks
from grader.extensions import db
from grader.models import Submission, WebhookEvent, utcnow
from grader.services.grading import submit
from grader.services.regrade import regrade_exercise
from grader.services.review import grade_review
from grader.services.users import create_user, lms_user
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth
from tests.api.webhook_receiver import Receiver, documented_verify, serve

ESSAY = {
    "partition": ["yes-model-parallel"],
    "discussion": "Partition when the parameters do not fit on one GPU.",
}


@pytest.fixture()
def receiver(imported):
    imported.config["GRADER_WEBHOOK_ALLOW_PRIVATE"] = True
    state = Receiver()
    server, url = serve(state)
    yield state, url
    server.shutdown()
    server.server_close()


class Clock:
    """The time the delivery code reads: starts now, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


def test_a_receiver_down_for_an_hour_gets_every_event_exactly_once(
    imported, client, make_token, receiver, monkeypatch
):
    state, url = receiver
    admin = make_token("admin")
    created = client.post("/api/v1/webhooks", json={"url": url}, headers=auth(admin))
    assert created.status_code == 201, created.json
    state.secret, hook_id = created.json["secret"], created.json["id"]
    state.down = True

    # Changes of every origin while the receiver is down: API submissions (graded), an essay
    # (needs_review), its review (graded), a regrade of every jacobian-shape submission.
    for user in ("ann", "bob"):
        response = client.post(
            SUBMIT_URL, json={"user": user, "answers": ANSWERS}, headers=auth(admin)
        )
        assert response.status_code == 201
    with imported.app_context():
        essay, _ = submit("multi-gpu", lms_user("cat"), ESSAY, "api", seed=3)
        teacher = create_user("teacher@example.com", "instructor", "pw-123456789")
        grade_review(essay.id, "discussion", 2.0, "Good.", teacher)
        report = regrade_exercise("jacobian-shape")
        assert report.regraded == 2
    # A change whose queue message is lost: only the beat can send its event.
    monkeypatch.setitem(imported.extensions, webhooks.ENQUEUE, lambda _event_id: None)
    client.post(SUBMIT_URL, json={"user": "dan", "answers": ANSWERS}, headers=auth(admin))
    monkeypatch.setitem(imported.extensions, webhooks.ENQUEUE, tasks.enqueue_webhook)

    with imported.app_context():
        events = {e.id: e.event_type for e in db.session.scalars(db.select(WebhookEvent))}
        changes = db.session.scalar(db.select(db.func.max(Submission.change_seq)))
    assert len(events) == changes == 7  # 2 + essay + review + 2 regrades + dan
    assert sorted(events.values()).count("submission.needs_review") == 1
    assert state.accepted == {} and len(state.requests) == 6  # each tried once, at commit

    clock = Clock()
    monkeypatch.setattr(webhooks, "utcnow", clock)
    monkeypatch.setattr(delivery, "utcnow", clock)
    start = clock.now
    with imported.app_context():
        while clock.now < start + timedelta(hours=1):  # down for an hour
            clock.now += timedelta(minutes=5)
            tasks.webhook_send_due_task()
        tried_while_down = len(state.requests)
        state.down = False
        recovered = clock.now
        while clock.now < recovered + timedelta(hours=1) and len(state.accepted) < 7:
            clock.now += timedelta(minutes=5)
            tasks.webhook_send_due_task()
        rows = list(db.session.scalars(db.select(WebhookEvent)))
        assert {r.state for r in rows} == {"delivered"}
        assert all(r.delivered_at is not None and r.attempts >= 2 for r in rows)
        assert tasks.webhook_send_due_task() == 0  # nothing left to send

    # Backoff: an hour down cost each event a handful of attempts, not one per beat.
    assert 7 * 3 <= tried_while_down <= 7 * 10
    assert clock.now - recovered <= timedelta(minutes=35)  # caught up within the cap
    assert set(state.accepted) == set(events)
    assert all(count == 1 for count in state.accepted.values()), state.accepted
    assert all(r.signed for r in state.requests)
    for request in state.requests:
        body = json.loads(request.body)
        assert body["id"] == request.event_id and body["type"] == request.event_type
        assert events[request.event_id] == request.event_type

    listed = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=auth(admin)).json
    assert {d["event_id"] for d in listed["items"]} == set(events)
    assert all(d["state"] == "delivered" and d["last_status"] == 204 for d in listed["items"])


def test_the_documented_check_refuses_a_forged_or_stale_delivery(
    imported, client, make_token, receiver
):
    """The guide's verify_webhook accepts a real delivery's bytes and refuses them with another
    secret, a changed body or an old timestamp."""
    state, url = receiver
    admin = make_token("admin")
    state.secret = client.post("/api/v1/webhooks", json={"url": url}, headers=auth(admin)).json[
        "secret"
    ]
    client.post(SUBMIT_URL, json={"user": "eve", "answers": ANSWERS}, headers=auth(admin))
    (request,) = state.requests
    assert request.signed and request.status == 204
    verify = documented_verify()
    from grader.services.webhook_http import signature_header

    now = int(utcnow().timestamp())
    good = signature_header(state.secret, now, request.body)
    assert verify(state.secret, request.body, good)
    assert not verify("whsec_other", request.body, good)
    assert not verify(state.secret, request.body.replace(b"eve", b"mal"), good)
    assert not verify(
        state.secret, request.body, signature_header(state.secret, now - 3600, request.body)
    )
    assert not verify(state.secret, request.body, "t=x,v1=00")
