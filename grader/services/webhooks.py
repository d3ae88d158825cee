"""Webhooks: a course's LMS registers URLs that receive a signed POST for every change of a
submission's grade or status in the course (DESIGN section 9, "Webhooks").

Every change writes, in its own transaction (``record_events``, called by
``results.record_parts`` right after the change is numbered), one outbox row per active hook
of the submission's course that takes the event's type: the event and its exact body. A
crash after the commit loses nothing, and a rollback takes the events with it. After the
commit the row is queued for delivery (``ENQUEUE``); ``webhook_delivery.deliver`` sends it,
retries it with backoff and jitter, and gives it up a day after it was made. A beat task sends
every row that is due, so a lost queue message or a receiver that was down is caught up.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import bindparam, select

from grader.extensions import db
from grader.models import (
    ApiToken,
    Course,
    Status,
    Submission,
    Webhook,
    WebhookEvent,
    utcnow,
)
from grader.services.access import submission_course_id
from grader.services.events import Outbox, add_grade_hook, add_outbox_writer
from grader.services.scores import iso, user_counted_score
from grader.services.webhook_http import UnsafeUrl, check_url

# app.extensions key of the callable that queues the delivery of one event id (set by
# grader.tasks); without it, events wait for `grader webhooks deliver`.
ENQUEUE = "grader.webhooks.enqueue"
# The name of the events' outbox writer (``events.write_outbox``).
OUTBOX_NAME = "webhooks"
EVENT_TYPES = tuple(f"submission.{status}" for status in Status)
# How long an event is retried before it is given up (``failed``); `grader webhooks retry`
# and the API's redeliver give it another day.
GIVE_UP_AFTER = timedelta(hours=24)
# Each change writes a row per hook, in the grading transaction: a bound on that work.
MAX_HOOKS_PER_COURSE = 100


class WebhookError(ValueError):
    """Raised for a hook that cannot be made as asked (the message says why)."""


def event_type(status: str) -> str:
    """Return the event type of a change that leaves a submission in ``status``."""
    return f"submission.{status}"


def new_secret() -> str:
    """Return a new signing secret (``whsec_`` and 32 random bytes, URL-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)


def create_webhook(
    course: Course, url: str, events: Sequence[str] | None, token: ApiToken | None
) -> tuple[Webhook, str]:
    """Make a hook of ``course`` for ``url`` taking ``events`` (default: every type); return
    it and its secret (stored to sign, shown this once). Commits. Raises ``WebhookError`` for
    a URL the server will not call, an unknown event type or too many hooks."""
    try:
        check_url(url, bool(current_app.config.get("GRADER_WEBHOOK_ALLOW_PRIVATE")))
    except UnsafeUrl as exc:
        raise WebhookError(str(exc)) from None
    chosen = list(EVENT_TYPES) if not events else sorted(set(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    count = len(list(db.session.scalars(select(Webhook.id).where(Webhook.course_id == course.id))))
    if count >= MAX_HOOKS_PER_COURSE:
        raise WebhookError(f"a course has at most {MAX_HOOKS_PER_COURSE} webhooks")
    secret = new_secret()
    hook = Webhook(
        course_id=course.id,
        url=url,
        secret=secret,
        events=chosen,
        active=True,
        created_at=utcnow(),
        created_by_token_id=token.id if token is not None else None,
    )
    db.session.add(hook)
    db.session.commit()
    return hook, secret


def webhooks_in(course_ids: list[int] | None, after_id: int | None, limit: int) -> list[Webhook]:
    """Return at most ``limit`` hooks of the courses ``course_ids`` (None: every course) with
    an id above ``after_id``, oldest first."""
    query = select(Webhook).order_by(Webhook.id).limit(limit)
    if course_ids is not None:
        query = query.where(Webhook.course_id.in_(course_ids))
    if after_id is not None:
        query = query.where(Webhook.id > after_id)
    return list(db.session.scalars(query))


def find_webhook(hook_id: int, course_ids: list[int] | None) -> Webhook | None:
    """Return the hook ``hook_id`` if it belongs to one of ``course_ids`` (None: any)."""
    hook = db.session.get(Webhook, hook_id)
    if hook is None or (course_ids is not None and hook.course_id not in course_ids):
        return None
    return hook


def delete_webhook(hook: Webhook) -> None:
    """Delete a hook and the record of its events (undelivered ones are not sent). Commits."""
    db.session.delete(hook)
    db.session.commit()


def submission_url(course: Course, submission_id: int) -> str:
    """Return the API URL of a submission in ``course`` (at ``GRADER_PUBLIC_URL``)."""
    base = str(current_app.config.get("GRADER_PUBLIC_URL", "")).rstrip("/")
    return f"{base}/api/v1/courses/{course.slug}/submissions/{submission_id}"


def payload(event_id: str, submission: Submission, course: Course) -> dict[str, object]:
    """Return the body of the event ``event_id`` reporting ``submission``'s current grade and
    status in ``course``: what it is, when, the submission, and what the user's submissions
    to its assignment count for now (null outside an assignment)."""
    counted = None
    if submission.assignment is not None:
        score = user_counted_score(submission.user_id, submission.assignment)
        counted = {
            "score": score.score,
            "max_score": score.max_score,
            "submissions": score.submissions,
            "pending_review": score.pending_review,
        }
    return {
        "id": event_id,
        "type": event_type(submission.status),
        "occurred_at": iso(submission.updated_at),
        "course": course.slug,
        "change_seq": submission.change_seq,
        "submission": {
            "id": submission.id,
            "user": submission.user.public_id,
            "exercise": submission.version.exercise.slug,
            "attempt": submission.attempt,
            "late": bool(submission.late),
            "status": submission.status,
            "score": submission.score,
            "max_score": submission.max_score,
            "url": submission_url(course, submission.id),
        },
        "counted": counted,
    }


def body_of(content: dict[str, object]) -> str:
    """Return the JSON text sent (and signed) for an event's payload."""
    return json.dumps(content, separators=(",", ":"), sort_keys=True)


# Read by every grade change, built once; the course goes in as a bound parameter.
ACTIVE_HOOKS = select(Webhook).where(
    Webhook.course_id == bindparam("course"), Webhook.active.is_(True)
)


def record_events(submission: Submission) -> list[str]:
    """Write, in the caller's transaction, an event for each active hook of the submission's
    course that takes the type of its new status (the submission was just stamped with its
    change number); return their ids. Call it after ``stamp_change``; the caller commits,
    then queues the ids (``queue_pending``)."""
    course_id = submission_course_id(submission)
    kind = event_type(submission.status)
    hooks = [
        hook
        for hook in db.session.scalars(ACTIVE_HOOKS, {"course": course_id})
        if kind in hook.events
    ]
    if not hooks:
        return []
    now = utcnow()
    ids = []
    for hook in hooks:
        event_id = str(uuid.uuid4())
        db.session.add(
            WebhookEvent(
                id=event_id,
                webhook_id=hook.id,
                submission_id=submission.id,
                change_seq=submission.change_seq,
                event_type=kind,
                payload=body_of(payload(event_id, submission, hook.course)),
                state="pending",
                attempts=0,
                next_attempt_at=now,
                give_up_at=now + GIVE_UP_AFTER,
                created_at=now,
            )
        )
        ids.append(event_id)
    return ids


def queue_events(submission_id: int, outbox: Outbox) -> int:
    """Queue the delivery of the events the committed grade change of ``submission_id`` wrote
    (``outbox["webhooks"]``, from ``record_events``); return how many. Called after every
    committed grade change (a ``grade_changed`` hook); a queue that fails is caught up by the
    beat (``due_event_ids``)."""
    ids = outbox.get(OUTBOX_NAME, ())
    enqueue = current_app.extensions.get(ENQUEUE)
    if enqueue is None:
        return 0
    for event_id in ids:
        enqueue(event_id)
    return len(ids)


def due_event_ids(now: datetime | None = None, limit: int = 500) -> list[str]:
    """Return the pending events whose next attempt is due at ``now``, oldest change first."""
    moment = now or utcnow()
    return list(
        db.session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.state == "pending", WebhookEvent.next_attempt_at <= moment)
            .order_by(WebhookEvent.change_seq, WebhookEvent.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class DeliveryPage:
    """A page of a hook's events, newest change first, and the change number the next page
    starts below (None on the last page)."""

    rows: list[WebhookEvent]
    next_before: int | None


def deliveries(hook: Webhook, before: int | None, limit: int) -> DeliveryPage:
    """Return the hook's events with a change number below ``before`` (None: all), newest
    first, at most ``limit``."""
    query = (
        select(WebhookEvent)
        .where(WebhookEvent.webhook_id == hook.id)
        .order_by(WebhookEvent.change_seq.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(WebhookEvent.change_seq < before)
    rows = list(db.session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return DeliveryPage(page, int(page[-1].change_seq) if more else None)


def find_event(hook: Webhook, event_id: str) -> WebhookEvent | None:
    """Return the hook's event ``event_id`` as stored now, or None."""
    event = db.session.get(WebhookEvent, event_id, populate_existing=True)
    return event if event is not None and event.webhook_id == hook.id else None


def resend(events: list[WebhookEvent], now: datetime | None = None) -> list[str]:
    """Make ``events`` pending and due now, with another day of retries (a delivered one is
    sent again, with the same id); return their ids. Commits; the caller queues them."""
    moment = now or utcnow()
    for event in events:
        event.state, event.next_attempt_at = "pending", moment
        event.give_up_at = moment + GIVE_UP_AFTER
    db.session.commit()
    return [event.id for event in events]


def failed_events() -> list[WebhookEvent]:
    """Return every event that was given up, oldest change first."""
    return list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.state == "failed")
            .order_by(WebhookEvent.change_seq, WebhookEvent.id)
        )
    )


def init_app(app: Flask) -> None:
    """Write the events of every grade change in its transaction (an outbox writer), and queue
    them after its commit (a ``grade_changed`` hook)."""
    add_outbox_writer(app.extensions, OUTBOX_NAME, record_events)
    add_grade_hook(app.extensions, queue_events)
