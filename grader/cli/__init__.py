"""The ``grader`` command (DESIGN section 9): a Flask command group, installed as a script.

One module per command group: ``exercises`` (validate, import, test, schema, instance),
``grading`` (grade, regrade, review), ``accounts`` (users, tokens, demo), ``courses`` (create,
list, enrol, assign, gradebook), ``operations`` (sandbox, queue), ``lti`` and ``webhooks``
(list, deliver, retry). ``common`` holds what they
share.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError


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
    from grader.cli import accounts, courses, exercises, grading, lti, operations, webhooks

    for command in (
        exercises.exercises,
        grading.grade,
        grading.regrade,
        grading.review,
        accounts.users,
        accounts.tokens,
        accounts.demo,
        courses.courses,
        operations.sandbox,
        operations.queue,
        lti.lti,
        webhooks.webhooks,
    ):
        app.cli.add_command(command)
