"""What follows a change of a submission's grade (graded, queued, reviewed, regraded, failed).

Receivers of grades (webhooks, LTI's passback) take part twice, through two registries in
``app.extensions``:

- in the grading transaction, ``record_parts`` calls ``write_outbox``: each registered writer
  (``GRADE_OUTBOX``, by name) writes the rows that carry the change to its receivers and
  returns their ids. The rows commit with the grade or roll back with it, so a grade is never
  committed without them, nor they without it; a writer that fails fails the change.
- after the commit, the grading services call ``grade_changed`` with those ids; each hook
  (``GRADE_CHANGED``) queues the sending of its own. A hook that fails is logged and never
  undoes the grade: what it did not queue, its beat task sends later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from grader.models import Submission

log = logging.getLogger(__name__)
GRADE_CHANGED = "grader.grade_changed"
GRADE_OUTBOX = "grader.grade_outbox"

# The ids of the rows a change wrote for its receivers, by the name of the writer.
Outbox = Mapping[str, Sequence[Any]]
OutboxWriter = Callable[["Submission"], Sequence[Any]]
GradeHook = Callable[[int, Outbox], object]


def add_outbox_writer(extensions: dict[str, Any], name: str, writer: OutboxWriter) -> None:
    """Register ``writer`` (called as ``writer(submission)`` in the grading transaction, after
    the submission is stamped with its change number) under ``name``."""
    extensions.setdefault(GRADE_OUTBOX, {})[name] = writer


def add_grade_hook(extensions: dict[str, Any], hook: GradeHook) -> None:
    """Register ``hook``, called as ``hook(submission_id, outbox)`` after every committed change."""
    extensions.setdefault(GRADE_CHANGED, []).append(hook)


def write_outbox(submission: Submission) -> dict[str, list[Any]]:
    """Run every registered outbox writer for ``submission`` in the caller's transaction;
    return the ids each wrote, by its name."""
    writers: dict[str, OutboxWriter] = current_app.extensions.get(GRADE_OUTBOX, {})
    return {name: list(write(submission)) for name, write in writers.items()}


def grade_changed(submission_id: int, outbox: Outbox | None = None) -> None:
    """Run every registered hook for ``submission_id``, whose new grade is committed with the
    rows ``outbox`` names (``write_outbox``)."""
    for hook in current_app.extensions.get(GRADE_CHANGED, ()):
        try:
            hook(submission_id, outbox or {})
        except Exception:
            log.exception("a grade-change hook failed for submission %s", submission_id)
