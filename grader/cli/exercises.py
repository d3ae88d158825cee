"""``grader exercises``: validate, import, self-test, describe exercise files."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from grader.catalog import CatalogError, exercise_files, json_schema, load_files
from grader.cli.common import fail, find_spec, progress


@click.group()
def exercises() -> None:
    """Validate, import, test and describe exercise files."""


@exercises.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def exercises_validate(paths: tuple[str, ...]) -> None:
    """Check exercise files without importing them; exit 1 listing every problem."""
    try:
        files = exercise_files(paths)
        with progress(len(files), "Validating files:") as advance:
            loaded = load_files(files, progress=advance)
    except CatalogError as exc:
        fail(f"{len(exc.issues)} problem(s):\n{exc}")
    for item in loaded:
        click.echo(f"ok  {item.path}  ({item.spec.slug}, {len(item.spec.parts)} parts)")


@exercises.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--selftest",
    is_flag=True,
    help="Run each exercise's self-test first; import nothing if one fails (as the web import).",
)
@click.option("--drafts", is_flag=True, help="With --selftest: import failing exercises as drafts.")
@with_appcontext
def exercises_import(paths: tuple[str, ...], selftest: bool, drafts: bool) -> None:
    """Validate and import exercise files, all or nothing; an edited file becomes a new version.
    Every problem of every file is listed (with --selftest, the self-test failures too)."""
    from grader.services.exercises import SelfTestFailed, import_exercises

    try:
        files = exercise_files(paths)
        with progress(len(files), "Importing files:") as advance:
            report = import_exercises(
                files, progress=advance, selftest=selftest, failing_as_draft=drafts
            )
    except CatalogError as exc:
        fail(f"Nothing imported. {len(exc.issues)} problem(s):\n{exc}")
    except SelfTestFailed as exc:
        fail(
            f"Nothing imported: {len(exc.issues)} self-test failure(s) "
            "(--drafts imports those exercises as drafts):\n"
            + "\n".join(str(issue) for issue in exc.issues)
        )
    except SQLAlchemyError as exc:
        fail(
            f"Nothing imported: the database refused the change ({type(exc).__name__}). "
            "Has `grader db upgrade` run?"
        )
    for label, slugs in (
        ("created", report.created),
        ("new version", report.updated),
        ("unchanged", report.unchanged),
        ("draft", report.drafts),
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
        fail(f"{len(exc.issues)} problem(s):\n{exc}")
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
        data = instance(find_spec(slug), seed, trial)
    except IndexError as exc:
        fail(str(exc))
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
