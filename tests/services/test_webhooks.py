"""Webhooks as a service: the signature, the URL checks, the outbox written in the grading
transaction (and rolled back with it), the payload, claims, backoff and giving up."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest

from grader.extensions import db
from grader.models import Submission, Webhook, WebhookEvent, utcnow
from grader.services import webhooks
from grader.services.backoff import backoff_seconds
from grader.services.changes import committed_horizon
from grader.services.courses import default_course
from grader.services.grading import submit
from grader.services.results import record_parts
from grader.services.users import lms_user
from grader.services.webhook_delivery import claim, deliver
from grader.services.webhook_http import (
    DeliveryFailed,
    UnsafeUrl,
    check_url,
    resolve,
    sign,
    signature_header,
)
from tests.api.helpers import ANSWERS


def test_signature_is_hmac_sha256_of_time_dot_body():
    body = b'{"id":"x"}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_k", 1700000000, body) == expected
    assert signature_header("whsec_k", 1700000000, body) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://lms.example.edu/hook",
        "javascript:alert(1)",
        "http:///nohost",
        "https://user:pw@lms.example.edu/",
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:192.168.0.1]/",
        "http://localhost/",
        "http://0.0.0.0/",
        "https://lms.example.edu/a b",
        "https://lms.example.edu:99999/",
    ],
)
def test_unsafe_urls_are_refused(url):
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


def test_public_urls_pass_and_private_ones_when_allowed():
    assert check_url("https://lms.example.edu/hook?x=1", False).path == "/hook?x=1"
    assert check_url("http://127.0.0.1:8000/hook", True).port == 8000
    with pytest.raises(DeliveryFailed, match="private, loopback"):
        resolve(check_url("http://127.0.0.1:8000/", True), False)


def test_backoff_doubles_up_to_the_cap_less_jitter():
    assert [backoff_seconds(n, 30, 1800) for n in (1, 2, 3, 7, 12)] == [30, 60, 120, 1800, 1800]
    assert backoff_seconds(3, 30, 1800, jitter=0.5, draw=lambda: 1.0) == 60
    assert backoff_seconds(3, 30, 1800, jitter=0.5, draw=lambda: 0.0) == 120


@pytest.fixture()
def hooked(imported):
    """The default course with a hook to a closed loopback port (every delivery is refused)."""
    imported.config["GRADER_WEBHOOK_ALLOW_PRIVATE"] = True
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with imported.app_context():
        hook, _secret = webhooks.create_webhook(
            default_course(), f"http://127.0.0.1:{port}/hook", None, None
        )
        return imported, hook.id


def test_the_outbox_row_is_written_with_the_change(hooked):
    app, hook_id = hooked
    with app.app_context():
        submission, _ = submit("jacobian-shape", lms_user("ann"), ANSWERS, "api", seed=1)
        (event,) = db.session.scalars(db.select(WebhookEvent))
        assert event.webhook_id == hook_id and event.submission_id == submission.id
        assert event.change_seq == submission.change_seq == committed_horizon()
        body = json.loads(event.payload)
        assert body["id"] == event.id and body["type"] == "submission.graded"
        assert body["course"] == "default" and body["change_seq"] == submission.change_seq
        assert body["submission"] | {"url": None} == {
            "id": submission.id,
            "user": "ann",
            "exercise": "jacobian-shape",
            "attempt": submission.attempt,
            "late": False,
            "status": "graded",
            "score": submission.score,
            "max_score": submission.max_score,
            "url": None,
        }
        assert body["submission"]["url"].endswith(
            f"/api/v1/courses/default/submissions/{submission.id}"
        )
        assert body["counted"] is None or body["counted"]["score"] == submission.score
        # the delivery at commit was refused: still pending, retried after the backoff
        assert event.state == "pending" and event.attempts == 1
        assert "failed" in (event.last_error or "")


def test_a_rolled_back_change_leaves_no_event(hooked):
    app, _hook_id = hooked
    with app.app_context():
        submission, _ = submit("jacobian-shape", lms_user("ann"), ANSWERS, "api", seed=1)
        before = committed_horizon()
        row = db.session.get(Submission, submission.id)
        record_parts(row, [dict(p, score=0.0) for p in row.parts])
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEvent)) == 2
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEvent)) == 1
        assert committed_horizon() == before


def test_inactive_hooks_and_unsubscribed_types_get_no_event(hooked):
    app, hook_id = hooked
    with app.app_context():
        hook = db.session.get(Webhook, hook_id)
        hook.events = ["submission.error"]
        db.session.commit()
        submit("jacobian-shape", lms_user("ann"), ANSWERS, "api", seed=1)
        hook.events, hook.active = list(webhooks.EVENT_TYPES), False
        db.session.commit()
        submit("jacobian-shape", lms_user("bob"), ANSWERS, "api", seed=1)
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEvent)) == 0


def test_one_claim_per_due_attempt_and_giving_up_after_a_day(hooked):
    app, _hook_id = hooked
    with app.app_context():
        submit("jacobian-shape", lms_user("ann"), ANSWERS, "api", seed=1)
        event = db.session.scalar(db.select(WebhookEvent))
        due = event.next_attempt_at
        assert not claim(event.id, due - timedelta(seconds=1))  # not due yet
        assert claim(event.id, due) and not claim(event.id, due)  # the second caller loses
        late = utcnow() + timedelta(hours=25)
        assert deliver(event.id, now=late).state == "failed"
        assert deliver(event.id, now=late).state == "skipped"  # failed rows are left alone
        assert webhooks.due_event_ids(late) == []
        assert webhooks.resend(webhooks.failed_events(), late) == [event.id]
        assert webhooks.due_event_ids(late) == [event.id]


def test_cli_lists_hooks_and_resends_failed_events(hooked, runner):
    app, _hook_id = hooked
    with app.app_context():
        submit("jacobian-shape", lms_user("ann"), ANSWERS, "api", seed=1)
        event = db.session.scalar(db.select(WebhookEvent))
        assert deliver(event.id, now=utcnow() + timedelta(hours=25)).state == "failed"
    listed = runner.invoke(args=["webhooks", "list"])
    assert listed.exit_code == 0 and "default  http://127.0.0.1:" in listed.output
    retried = runner.invoke(args=["webhooks", "retry"])
    assert retried.exit_code == 1  # the port still refuses
    assert "1 failed events resent: 0 delivered" in retried.output
    with app.app_context():
        row = db.session.get(WebhookEvent, event.id)
        assert row.state == "pending" and row.attempts == 3
    due = runner.invoke(args=["webhooks", "deliver"])
    assert "0 due events" in due.output  # the next attempt waits for its backoff


REGRADED = """\
slug: webhook-regrade
title: Webhook regrade
dims: {{n: [2, 9], m: [2, 9]}}
parts:
  - id: shape
    kind: shape
    points: {points}
    sizes: [n, m]
    answer: n×m
"""


def test_a_regrade_event_carries_the_new_versions_max_score(hooked, tmp_path):
    from grader.services.exercises import import_exercises
    from grader.services.regrade import regrade_exercise

    app, _hook_id = hooked
    path = tmp_path / "webhook-regrade.yaml"
    with app.app_context():
        path.write_text(REGRADED.format(points=1), encoding="utf-8")
        import_exercises([path])
        submission, _ = submit("webhook-regrade", lms_user("ann"), {"shape": "n×m"}, "api", seed=3)
        path.write_text(REGRADED.format(points=3), encoding="utf-8")
        import_exercises([path])
        assert regrade_exercise("webhook-regrade").regraded == 1
        events = db.session.scalars(
            db.select(WebhookEvent)
            .where(WebhookEvent.submission_id == submission.id)
            .order_by(WebhookEvent.change_seq)
        ).all()
        stored = db.session.get(Submission, submission.id)
        assert [json.loads(e.payload)["submission"]["max_score"] for e in events] == [1.0, 3.0]
        assert stored.max_score == 3.0 and stored.score == 3.0
