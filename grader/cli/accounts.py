"""``grader users``, ``grader tokens`` and ``grader demo``: accounts and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from grader.cli.common import fail


@click.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["student", "instructor", "admin"]), required=True)
@click.option("--password", default=None, help="Omit to be asked for it.")
@with_appcontext
def users_create(email: str, role: str, password: str | None) -> None:
    """Create a user who signs in with EMAIL and a password."""
    from grader.services.users import UserError, create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, role, password)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@click.group()
def tokens() -> None:
    """Manage API tokens (only their SHA-256 is stored)."""


@tokens.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["submit", "read:scores", "admin"]),
    help="Repeat for several; default: submit and read:scores.",
)
@click.option("--course", "course_slug", help="The course it reaches (default: default).")
@click.option("--all-courses", is_flag=True, help="Reach every course (needs --scope admin).")
@click.option(
    "--issuer",
    help="Identity provider of the users it names (default api:<course>); give a new token "
    "of the same LMS the old one's issuer.",
)
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d"]),
    help="Expiry time, ISO 8601 with an offset (a bare date means midnight UTC).",
)
@with_appcontext
def tokens_create(
    name: str,
    scopes: tuple[str, ...],
    course_slug: str | None,
    all_courses: bool,
    issuer: str | None,
    expires: datetime | None,
) -> None:
    """Create a token and print it once, alone on the last line."""
    from grader.services.courses import CourseNotFound, course_by_slug
    from grader.services.users import DEFAULT_SCOPES, UserError, create_token

    try:
        course = course_by_slug(course_slug) if course_slug else None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        row, secret = create_token(
            name,
            scopes or DEFAULT_SCOPES,
            course,
            all_courses=all_courses,
            issuer=issuer,
            expires_at=expires,
        )
    except CourseNotFound:
        fail(f"no course {course_slug!r}")
    except UserError as exc:
        fail(str(exc))
    reach = "every course" if row.course_id is None else f"course {row.course.slug}"
    click.echo(f"token {row.id} {row.name!r} for {reach} with scopes: {row.scopes}", err=True)
    click.echo("Store it now; it cannot be shown again:", err=True)
    click.echo(secret)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its id."""
    from grader.services.users import UserError, revoke_token

    try:
        row = revoke_token(token_id)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"revoked token {row.id} {row.name!r}")


@click.command()
@with_appcontext
def demo() -> None:
    """Create a demo instructor and student if absent, and print how to sign in."""
    from sqlalchemy import select

    from grader.extensions import db
    from grader.models import User
    from grader.services.users import create_user

    accounts = (
        ("instructor@example.com", "instructor", "instructor-demo"),
        ("student@example.com", "student", "student-demo"),
    )
    for email, role, password in accounts:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            create_user(email, role, password)
        click.echo(f"demo {role:10}  email: {email}  password: {password}")
