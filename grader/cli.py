"""The ``grader`` command (DESIGN section 9): a Flask command group, installed as a script."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from grader.catalog import CatalogError, exercise_files, json_schema, load_files
from grader.kinds.spec import ExerciseSpec


def _app_factory() -> Any:
    from grader import create_app

    return create_app()


class GraderGroup(FlaskGroup):
    """The command group; a database error ends a command with a message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            hint = ""
            if "no such table" in reason or "does not exist" in reason:
                hint = " The database has no schema yet: run `grader db upgrade` first."
            click.echo(f"Database error: {reason}.{hint}", err=True)
            sys.exit(1)


@click.group(cls=GraderGroup, create_app=_app_factory, add_version_option=False)
def main() -> None:
    """backprop-grader: grade backpropagation answers against a reference engine."""


def register_commands(app: Any) -> None:
    """Attach the project's command groups to ``app.cli``."""
    for command in (exercises, grade, regrade, review, users, tokens, demo, sandbox, queue):
        app.cli.add_command(command)


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group()
def exercises() -> None:
    """Validate, import, test and describe exercise files."""


@contextmanager
def _progress(count: int, label: str) -> Iterator[Callable[[Any], None]]:
    """Show a progress bar on stderr; yield the callback that advances it by one item."""
    with click.progressbar(
        length=count, label=f"{label} {count}", file=sys.stderr, show_pos=True
    ) as bar:
        yield lambda _item: bar.update(1)


@exercises.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def exercises_validate(paths: tuple[str, ...]) -> None:
    """Check exercise files without importing them; exit 1 listing every problem."""
    try:
        files = exercise_files(paths)
        with _progress(len(files), "Validating files:") as advance:
            loaded = load_files(files, progress=advance)
    except CatalogError as exc:
        _fail(f"{len(exc.issues)} problem(s):\n{exc}")
    for item in loaded:
        click.echo(f"ok  {item.path}  ({item.spec.slug}, {len(item.spec.parts)} parts)")


@exercises.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@with_appcontext
def exercises_import(paths: tuple[str, ...]) -> None:
    """Validate and import exercise files, all or nothing; an edited file becomes a new version."""
    from grader.services.exercises import import_exercises

    try:
        files = exercise_files(paths)
        with _progress(len(files), "Importing files:") as advance:
            report = import_exercises(files, progress=advance)
    except CatalogError as exc:
        _fail(f"Nothing imported. {len(exc.issues)} problem(s):\n{exc}")
    except SQLAlchemyError as exc:
        _fail(
            f"Nothing imported: the database refused the change ({type(exc).__name__}). "
            "Has `grader db upgrade` run?"
        )
    for label, slugs in (
        ("created", report.created),
        ("new version", report.updated),
        ("unchanged", report.unchanged),
    ):
        for slug in slugs:
            click.echo(f"{label:12} {slug}")


@exercises.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Seed of the trials the answers are graded on.",
)
@click.option("--quiet", is_flag=True, help="Print only the failures and the summary.")
def exercises_test(paths: tuple[str, ...], seed: int, quiet: bool) -> None:
    """Self-test exercise files: references score full marks, mistakes are caught, examples
    grade as stated. A report per part; exit 1 on any failure."""
    from grader.selftest import selftest_paths

    try:
        reports = selftest_paths(paths, seed=seed)
    except CatalogError as exc:
        _fail(f"{len(exc.issues)} problem(s):\n{exc}")
    failures = 0
    for report in reports:
        for line, ok in report.lines(verbose=not quiet):
            click.echo(line, err=not ok)
        failures += report.failures
    checks = sum(report.checks for report in reports)
    click.echo(f"{len(reports)} exercise(s), {checks} check(s), {failures} failure(s)")
    if failures:
        sys.exit(1)


@exercises.command("schema")
def exercises_schema() -> None:
    """Print the JSON Schema of the exercise format."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


@exercises.command("instance")
@click.argument("slug")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), required=True)
@click.option("--trial", type=click.IntRange(0, None), default=None, help="0-based index")
@with_appcontext
def exercises_instance(slug: str, seed: int, trial: int | None) -> None:
    """Print one seed's trials as JSON: sizes, functions, inputs and reference values."""
    from grader.kinds.instance_json import instance

    try:
        data = instance(_find_spec(slug), seed, trial)
    except IndexError as exc:
        _fail(str(exc))
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _find_spec(slug: str) -> ExerciseSpec:
    """Return the spec of ``slug``: the imported current version, else the exercises folder."""
    from grader.services.exercises import ExerciseNotFound, current_version, spec_of

    try:
        return spec_of(current_version(slug))
    except (ExerciseNotFound, SQLAlchemyError):
        pass
    folder = Path(current_app.config["GRADER_EXERCISES_DIR"])
    if folder.is_dir():
        for item in load_files([folder]):
            if item.spec.slug == slug:
                return item.spec
    _fail(f"No exercise {slug!r} in the database or in {folder}.")
    raise AssertionError  # unreachable: _fail exits


@click.command()
@click.argument("slug")
@click.option("--answers", required=True, help='JSON object, e.g. \'{"shape": "n×m"}\'')
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None)
@with_appcontext
def grade(slug: str, answers: str, seed: int | None) -> None:
    """Grade answers offline (nothing stored) and print the result object as JSON."""
    from grader.services.grading import new_seed, offline_result

    try:
        parsed = json.loads(answers)
    except json.JSONDecodeError as exc:
        _fail(f"--answers is not JSON: {exc}")
    spec = _find_spec(slug)
    try:
        result = offline_result(slug, spec, parsed, new_seed() if seed is None else seed)
    except (TypeError, ValueError) as exc:
        _fail(str(exc))
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@click.command()
@click.argument("slug")
@click.option(
    "--version",
    "version_number",
    type=click.IntRange(1),
    default=None,
    help="Grade against this version (default: the current one).",
)
@with_appcontext
def regrade(slug: str, version_number: int | None) -> None:
    """Re-grade the stored submissions of SLUG with their stored seeds; the old scores are kept
    in the grade history."""
    from grader.services.exercises import ExerciseNotFound
    from grader.services.regrade import RegradeError, count_regradable, regrade_exercise

    try:
        total = count_regradable(slug)
        with _progress(total, "Regrading submissions:") as advance:
            report = regrade_exercise(slug, version_number, progress=advance)
    except (ExerciseNotFound, RegradeError) as exc:
        _fail(str(exc))
    for line in report.summary_lines():
        click.echo(line)


@click.command()
@click.argument("submission_id", type=int, required=False)
@click.argument("part", required=False)
@click.option("--score", type=float, default=None, help="Points for the part, 0..its maximum.")
@click.option("--feedback", default="", help="What the student is told.")
@click.option(
    "--by",
    "reviewer_email",
    default=None,
    help="Email of the instructor grading (default: the only instructor, if one).",
)
@click.option("--exercise", "slug", default=None, help="List only this exercise's reviews.")
@with_appcontext
def review(
    submission_id: int | None,
    part: str | None,
    score: float | None,
    feedback: str,
    reviewer_email: str | None,
    slug: str | None,
) -> None:
    """Without arguments, list the parts waiting for review; with SUBMISSION_ID PART --score S
    [--feedback TEXT], grade one."""
    from grader.services.review import ReviewError, find_reviewer, grade_review, pending_reviews

    if submission_id is None:
        pending = pending_reviews(slug)
        for item in pending:
            click.echo(
                f"{item.submission_id:>6}  {item.part_id:<16} {item.exercise:<24} "
                f"{item.user:<24} max {item.max_score:g}  {item.excerpt}"
            )
        click.echo(f"{len(pending)} part(s) waiting for review")
        return
    if part is None or score is None:
        _fail("To grade a part give SUBMISSION_ID PART --score S [--feedback TEXT].", 2)
    try:
        reviewer = find_reviewer(reviewer_email)
        submission = grade_review(submission_id, part, score, feedback, reviewer)
    except ReviewError as exc:
        _fail(str(exc))
    click.echo(
        f"submission {submission.id}: part {part} scored {score:g}; "
        f"total {submission.score:g}/{submission.max_score:g}, {submission.status}"
    )


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
        _fail(str(exc))
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
@with_appcontext
def tokens_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a token and print it once, alone on the last line."""
    from grader.services.users import DEFAULT_SCOPES, create_token

    row, secret = create_token(name, scopes or DEFAULT_SCOPES)
    click.echo(f"token {row.id} {row.name!r} with scopes: {row.scopes}", err=True)
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
        _fail(str(exc))
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
