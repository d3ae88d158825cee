"""REST API v1: a course's webhooks, made, listed and deleted by an admin token, and the
deliveries of each (``grader.services.webhooks``).

An admin token of one course sees and manages only that course's hooks; another course's hook
is a 404, as if it did not exist. Every route is mirrored under /courses/{course}/.
"""

from __future__ import annotations

import re
from json import loads
from typing import Any

from flask import Response, current_app, g, jsonify

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.courses import acting_course, add_course_rule, reading_course_ids
from grader.api.openapi import api_spec, responses
from grader.api.paging import bad_cursor, decode_text_cursor, encode_text_cursor, page_links
from grader.api.problems import ApiProblem
from grader.api.routes import MAX_ID
from grader.api.schemas import (
    Delivery,
    DeliveryPage,
    PageQuery,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
)
from grader.models import Webhook, WebhookEvent
from grader.services import webhooks
from grader.services.scores import iso
from grader.services.webhooks import WebhookError

EVENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def webhook_info(hook: Webhook) -> dict[str, Any]:
    """Return what the API shows of a hook: never its secret."""
    return {
        "id": hook.id,
        "course": hook.course.slug,
        "url": hook.url,
        "events": list(hook.events),
        "active": hook.active,
        "created_at": iso(hook.created_at),
    }


def delivery_info(event: WebhookEvent) -> dict[str, Any]:
    """Return an event and the outcome of its delivery so far."""
    return {
        "event_id": event.id,
        "event_type": event.event_type,
        "submission_id": event.submission_id,
        "change_seq": event.change_seq,
        "state": event.state,
        "attempts": event.attempts,
        "last_status": event.last_status,
        "last_error": event.last_error,
        "last_attempt_at": iso(event.last_attempt_at),
        "next_attempt_at": iso(event.next_attempt_at) if event.state == "pending" else None,
        "delivered_at": iso(event.delivered_at),
        "created_at": iso(event.created_at),
        "payload": loads(event.payload),
    }


def _hook(webhook_id: int, course: str | None) -> Webhook:
    """Return the hook the URL names, within the token's reach; raise the 404 otherwise."""
    reach = reading_course_ids(course)
    hook = webhooks.find_webhook(webhook_id, reach) if webhook_id <= MAX_ID else None
    if hook is None:
        raise ApiProblem(404, "webhook-not-found", "Not Found", f"No webhook {webhook_id}.")
    return hook


@bp.post("/webhooks")
@require_scope("admin")
@api_spec.validate(
    json=WebhookCreate,
    resp=responses({201: WebhookCreated}, 400, 404, 413, 415, 422),
    tags=["webhooks"],
)
def create_webhook(json: WebhookCreate, course: str | None = None) -> Response:
    """Create a webhook.

    The course's LMS receives a signed POST at the URL for every change of a submission's
    grade or status in the course (event types submission.<status>). Returns the secret
    that signs the deliveries in "secret", this once. docs/lms-integration.md shows how to
    verify a delivery. Scope: admin.
    """
    target = acting_course(course)
    try:
        hook, secret = webhooks.create_webhook(target, json.url, json.events, g.api_token)
    except WebhookError as exc:
        raise ApiProblem(422, "invalid-webhook", "Unprocessable Content", str(exc)) from None
    response = jsonify(webhook_info(hook) | {"secret": secret})
    response.status_code = 201
    return response


@bp.get("/webhooks")
@require_scope("admin")
@api_spec.validate(query=PageQuery, resp=responses({200: WebhookPage}, 400, 404), tags=["webhooks"])
def list_webhooks(query: PageQuery, course: str | None = None) -> Response:
    """List webhooks.

    The course's webhooks (of every course for an all-courses token on this route), oldest
    first; never their secrets. Scope: admin.
    """
    cursor = decode_text_cursor(query.cursor)
    if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
        raise bad_cursor()
    after = int(cursor) if cursor is not None else None
    rows = webhooks.webhooks_in(reading_course_ids(course), after, query.limit + 1)
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = encode_text_cursor(str(page[-1].id)) if more else None
    return jsonify(items=[webhook_info(h) for h in page], links=page_links(next_cursor))


@bp.delete("/webhooks/<int:webhook_id>")
@require_scope("admin")
@api_spec.validate(resp=responses({204: None}, 404), tags=["webhooks"])
def delete_webhook(webhook_id: int, course: str | None = None) -> Response:
    """Delete a webhook.

    No more events are made for it and its undelivered ones are not sent; the record of its
    deliveries goes with it. Another course's webhook is a 404. Scope: admin.
    """
    webhooks.delete_webhook(_hook(webhook_id, course))
    return Response(status=204)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@require_scope("admin")
@api_spec.validate(
    query=PageQuery, resp=responses({200: DeliveryPage}, 400, 404), tags=["webhooks"]
)
def list_deliveries(query: PageQuery, webhook_id: int, course: str | None = None) -> Response:
    """List a webhook's deliveries.

    Its events, newest change first, each with the outcome of its delivery: state (pending,
    delivered, failed), attempts, the receiver's last status or error, and when the next
    attempt is due. Scope: admin.
    """
    hook = _hook(webhook_id, course)
    cursor = decode_text_cursor(query.cursor)
    if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
        raise bad_cursor()
    page = webhooks.deliveries(hook, int(cursor) if cursor else None, query.limit)
    next_cursor = None if page.next_before is None else encode_text_cursor(str(page.next_before))
    return jsonify(items=[delivery_info(e) for e in page.rows], links=page_links(next_cursor))


@bp.post("/webhooks/<int:webhook_id>/deliveries/<event_id>/redeliver")
@require_scope("admin")
@api_spec.validate(resp=responses({202: Delivery}, 404), tags=["webhooks"])
def redeliver_event(webhook_id: int, event_id: str, course: str | None = None) -> Response:
    """Redeliver an event.

    Sends the event again, with the same event id and body and a new signature, and retries
    it for another day (a delivered event too: the receiver de-duplicates by the id).
    Send no body. Scope: admin.
    """
    hook = _hook(webhook_id, course)
    event = webhooks.find_event(hook, event_id) if EVENT_ID.match(event_id) else None
    if event is None:
        raise ApiProblem(404, "event-not-found", "Not Found", f"No event {event_id!r}.")
    webhooks.resend([event])
    enqueue = current_app.extensions.get(webhooks.ENQUEUE)
    if enqueue is not None:
        enqueue(event.id)
    response = jsonify(delivery_info(webhooks.find_event(hook, event_id) or event))
    response.status_code = 202
    return response


add_course_rule("/webhooks", create_webhook, ["POST"])
add_course_rule("/webhooks", list_webhooks, ["GET"])
add_course_rule("/webhooks/<int:webhook_id>", delete_webhook, ["DELETE"])
add_course_rule("/webhooks/<int:webhook_id>/deliveries", list_deliveries, ["GET"])
add_course_rule(
    "/webhooks/<int:webhook_id>/deliveries/<event_id>/redeliver", redeliver_event, ["POST"]
)
