"""What the command modules share: failing with a message, a progress bar, finding a spec."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from grader.catalog import load_files
from grader.kinds.spec import ExerciseSpec


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code``."""
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def progress(count: int, label: str) -> Iterator[Callable[[Any], None]]:
    """Show a progress bar on stderr; yield the callback that advances it by one item."""
    with click.progressbar(
        length=count, label=f"{label} {count}", file=sys.stderr, show_pos=True
    ) as bar:
        yield lambda _item: bar.update(1)


def find_spec(slug: str) -> ExerciseSpec:
    """Return the spec of ``slug``: the imported current version, else the exercises folder;
    exit 1 if neither has it."""
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
    fail(f"No exercise {slug!r} in the database or in {folder}.")
