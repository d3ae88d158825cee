"""``grader sandbox`` and ``grader queue``: inspecting and repairing the running service."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group()
def sandbox() -> None:
    """Inspect the sandbox that runs student code."""


@sandbox.command("check")
def sandbox_check() -> None:
    """Report the sandbox's active protections (exit 1 when a required one is missing)."""
    from grader.sandbox import check_sandbox

    ok, report = check_sandbox()
    click.echo(("ok: " if ok else "unavailable: ") + report, err=not ok)
    if not ok:
        sys.exit(1)


@click.group()
def queue() -> None:
    """Inspect and repair the grading queue."""


@queue.command("sweep")
@click.option(
    "--older-than",
    "older_than",
    type=float,
    default=None,
    help="Seconds a submission may stay queued before it is queued again (default: 300).",
)
@with_appcontext
def queue_sweep(older_than: float | None) -> None:
    """Re-queue submissions left ``queued`` longer than --older-than seconds."""
    from datetime import timedelta

    from grader.tasks import STALE_AFTER_SECONDS, sweep_stale

    seconds = STALE_AFTER_SECONDS if older_than is None else older_than
    ids = sweep_stale(timedelta(seconds=seconds))
    click.echo(f"re-queued {len(ids)} submission(s)" + (f": {ids}" if ids else ""))
