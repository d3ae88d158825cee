"""Delivering one webhook event: claim it, POST it signed, store the outcome.

An attempt first claims the event: one conditional UPDATE moves its ``next_attempt_at`` a lease
ahead, and only the process whose UPDATE matched (the event pending and due) sends it. So a
queued delivery and the beat's catch-up of the same event never both send it; a worker that
dies mid-send leaves the event due again when the lease ends. A failure sets the next attempt
after a backoff (30 s doubling up to 30 min, less up to half of it at random); past the event's
``give_up_at`` (a day) it is ``failed``. A receiver that cannot be called at all (an address the
server refuses) fails at once. What each attempt ended with is stored on the event and listed
by the API.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import CursorResult, update

from grader.extensions import db
from grader.models import WebhookEvent, utcnow
from grader.services.backoff import backoff_seconds
from grader.services.changes import as_utc
from grader.services.webhook_http import (
    TIMEOUT_SECONDS,
    DeliveryFailed,
    UnsafeUrl,
    post,
    signature_header,
)

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 1800.0
RETRY_JITTER = 0.5
# An attempt under way holds its event this long (the request's timeout, and a margin).
LEASE = timedelta(seconds=TIMEOUT_SECONDS * 3)


@dataclass(frozen=True)
class Outcome:
    """What an attempt did: the event's state after it (``skipped``: not due, or another
    process has it) and the receiver's status, if it answered."""

    state: str
    status: int | None = None


def claim(event_id: str, now: datetime) -> bool:
    """Take the event for one attempt if it is pending and due at ``now``; return whether
    this caller has it. Commits."""
    claimed: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        update(WebhookEvent)
        .where(
            WebhookEvent.id == event_id,
            WebhookEvent.state == "pending",
            WebhookEvent.next_attempt_at <= now,
        )
        .values(
            next_attempt_at=now + LEASE,
            attempts=WebhookEvent.attempts + 1,
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def headers_for(event: WebhookEvent, body: bytes, timestamp: int) -> dict[str, str]:
    """Return the headers of an event's POST: its signature at ``timestamp``, id and type."""
    return {
        "Grader-Signature": signature_header(event.webhook.secret, timestamp, body),
        "Grader-Event-Id": event.id,
        "Grader-Event-Type": event.event_type,
    }


def deliver(event_id: str, now: datetime | None = None) -> Outcome:
    """Make one attempt to deliver the event ``event_id`` if it is due at ``now`` (default: the
    current time); store and return its outcome. Commits."""
    moment = now or utcnow()
    if not claim(event_id, moment):
        return Outcome("skipped")
    event = db.session.get(WebhookEvent, event_id, populate_existing=True)
    if event is None:  # deleted with its hook between the claim and now
        return Outcome("skipped")
    body = event.payload.encode()
    allow_private = bool(current_app.config.get("GRADER_WEBHOOK_ALLOW_PRIVATE"))
    timestamp = int(time.time())  # when it is sent, whatever ``now`` schedules by
    url = event.webhook.url
    try:
        status = post(url, body, headers_for(event, body, timestamp), allow_private)
    except UnsafeUrl as exc:
        return _failed(event, str(exc), None, give_up=True)
    except DeliveryFailed as exc:
        return _failed(event, str(exc), exc.status, give_up=False, now=moment)
    event.state, event.last_status, event.last_error = "delivered", status, None
    event.delivered_at = moment
    db.session.commit()
    return Outcome("delivered", status)


def _failed(
    event: WebhookEvent,
    error: str,
    status: int | None,
    give_up: bool,
    now: datetime | None = None,
) -> Outcome:
    """Store a failed attempt: due again after the backoff, or ``failed`` when the event is
    past its ``give_up_at`` (or ``give_up``)."""
    moment = now or utcnow()
    event.last_status, event.last_error = status, error[:2000]
    wait = backoff_seconds(event.attempts, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS, RETRY_JITTER)
    following = moment + timedelta(seconds=wait)
    if give_up or following > as_utc(event.give_up_at):
        event.state = "failed"
    event.next_attempt_at = following
    db.session.commit()
    log.warning("webhook event %s failed (attempt %s): %s", event.id, event.attempts, error)
    return Outcome(event.state, status)
