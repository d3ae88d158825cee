"""``grader webhooks``: list a course's hooks, send due events, resend the given-up ones."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("webhooks")
def webhooks() -> None:
    """Webhooks: signed grade-change POSTs to a course's LMS."""


@webhooks.command("list")
@with_appcontext
def webhooks_list() -> None:
    """List every webhook with its course, URL and events."""
    from grader.services.webhooks import webhooks_in

    for hook in webhooks_in(None, None, 10_000):
        state = "active" if hook.active else "inactive"
        click.echo(f"{hook.id}  {hook.course.slug}  {hook.url}  {','.join(hook.events)}  {state}")


@webhooks.command("deliver")
@with_appcontext
def webhooks_deliver() -> None:
    """Make one attempt at every pending event that is due now (what the beat does every 30
    seconds; run it from cron where no queue runs). Exit 1 if any failed."""
    from grader.services.webhook_delivery import deliver
    from grader.services.webhooks import due_event_ids

    states = [deliver(event_id).state for event_id in due_event_ids()]
    sent = states.count("delivered")
    click.echo(f"{len(states)} due events: {sent} delivered, {len(states) - sent} not.")
    if sent != len(states):
        sys.exit(1)


@webhooks.command("retry")
@with_appcontext
def webhooks_retry() -> None:
    """Send every given-up (failed) event again now, and retry it for another day (exit 1 if
    any is still not delivered)."""
    from grader.services.webhook_delivery import deliver
    from grader.services.webhooks import failed_events, resend

    ids = resend(failed_events())
    states = [deliver(event_id).state for event_id in ids]
    sent = states.count("delivered")
    click.echo(f"{len(ids)} failed events resent: {sent} delivered, {len(ids) - sent} not yet.")
    if sent != len(ids):
        sys.exit(1)
