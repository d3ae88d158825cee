"""``grader lti``: platforms (register, list, remove), the tool's keys, passbacks, rosters."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


def tool_urls() -> dict[str, str]:
    """Return the three URLs a platform is configured with, from ``GRADER_PUBLIC_URL``."""
    base = current_app.config["GRADER_PUBLIC_URL"]
    return {
        "login URL (OIDC initiation)": f"{base}/lti/login",
        "launch / redirect URL": f"{base}/lti/launch",
        "public keyset (JWKS) URL": f"{base}/lti/jwks",
    }


@click.group()
def lti() -> None:
    """LTI 1.3: connect LMS platforms (Canvas, Moodle, Blackboard, Open edX)."""


@lti.command("register")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option(
    "--deployment-id", required=True, help="A deployment id (repeat the command to add more)."
)
@click.option("--login-url", required=True, help="The platform's OIDC authentication URL.")
@click.option("--token-url", required=True, help="The platform's OAuth 2 access token URL.")
@click.option("--jwks-url", required=True, help="The platform's public keyset URL.")
@with_appcontext
def lti_register(
    issuer: str, client_id: str, deployment_id: str, login_url: str, token_url: str, jwks_url: str
) -> None:
    """Register a platform (or one more deployment of it); print the tool's URLs."""
    from grader.lti.registry import RegistrationError, register

    try:
        registration, new = register(
            issuer, client_id, deployment_id, login_url, token_url, jwks_url
        )
    except RegistrationError as exc:
        click.echo(f"Not registered: {exc}", err=True)
        sys.exit(1)
    verb = "registered" if new else "already registered; URLs updated"
    click.echo(f"{issuer} (client {client_id}) deployment {deployment_id}: {verb}.")
    click.echo("Enter these in the platform:")
    for name, url in tool_urls().items():
        click.echo(f"  {name}: {url}")
    click.echo(f"  (registration {registration.id})")


@lti.command("list")
@with_appcontext
def lti_list() -> None:
    """List the registered platforms and their deployments."""
    from grader.lti.registry import registrations

    rows = registrations()
    if not rows:
        click.echo("No platform is registered: run `grader lti register`.")
    for r in rows:
        deployments = ", ".join(d.deployment_id for d in r.deployments) or "none"
        click.echo(f"{r.id}  {r.issuer}  client {r.client_id}  deployments: {deployments}")
        click.echo(f"    login {r.login_url}  token {r.token_url}  jwks {r.jwks_url}")
    for name, url in tool_urls().items():
        click.echo(f"tool {name}: {url}")


@lti.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--deployment-id", default=None, help="Remove only this deployment.")
@with_appcontext
def lti_remove(issuer: str, client_id: str, deployment_id: str | None) -> None:
    """Remove a platform's registration (or one deployment): its launches are refused."""
    from grader.lti.registry import RegistrationError, remove

    try:
        count = remove(issuer, client_id, deployment_id)
    except RegistrationError as exc:
        click.echo(f"Nothing removed: {exc}", err=True)
        sys.exit(1)
    what = f"deployment {deployment_id}" if deployment_id else f"registration ({count} deployments)"
    click.echo(f"Removed {what} of {issuer}.")


@lti.group("keys")
def keys() -> None:
    """The tool's signing keys (published at /lti/jwks)."""


@keys.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Make a new signing key; the old one stays published for a week."""
    from grader.lti.keys import GRACE, rotate

    new, old = rotate()
    click.echo(f"New signing key {new.kid}.")
    for key in old:
        click.echo(f"Retired {key.kid}: still published for {GRACE.days} days.")


@lti.group("passback")
def passback() -> None:
    """Grades sent to LMS line items (Assignment and Grade Services)."""


@passback.command("list")
@click.option("--limit", type=int, default=50)
@with_appcontext
def passback_list(limit: int) -> None:
    """List the latest passbacks with their state."""
    from grader.lti.ags import recent

    for p in recent(limit):
        score = "-" if p.score_given is None else f"{p.score_given:g}"
        click.echo(
            f"{p.id}  {p.state:10}  submission {p.submission_id}  {score}/{p.score_maximum:g}  "
            f"{p.grading_progress}  attempts {p.attempts}  {p.last_error or ''}".rstrip()
        )


@passback.command("retry")
@with_appcontext
def passback_retry() -> None:
    """Send every failed passback, and every one never queued (pending for 5 minutes), again
    now (exit 1 if any still fails)."""
    from grader.lti.ags import resend_now

    report, failing = resend_now()
    click.echo(report)
    if failing:
        sys.exit(1)


@lti.command("roster")
@click.argument("context")
@with_appcontext
def lti_roster(context: str) -> None:
    """Pull the members of an LMS course (CONTEXT: its id here or on the LMS)."""
    from grader.lti.nrps import RosterError, find_context, pull_roster

    row = find_context(context)
    if row is None:
        click.echo(f"No LMS course {context!r} has launched the tool yet.", err=True)
        sys.exit(1)
    try:
        roster = pull_roster(row)
    except RosterError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    counts = ", ".join(f"{n} {role}" for role, n in sorted(roster.by_role.items())) or "nobody"
    click.echo(f"{row.title or row.context_id}: {counts}; {roster.new_users} new users.")
