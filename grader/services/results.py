"""Storing a submission's per-part results: the one function every writer of a grade calls.

A submission's results live twice, written together by ``record_parts`` in the caller's
transaction: as JSON in ``submissions.parts`` (what the result object and the result page read,
one row per submission) and as rows of ``submission_parts`` (what the instructor statistics
aggregate in SQL). The submission's status follows from its parts, and its score is their sum
once every part has one: a part that is queued for grading, or waits for an instructor's review,
has no score yet (``None``), and neither has the submission. Every call is a change of grade
or status: it stamps the submission with the next change number and time
(``grader.services.changes``), which incremental sync and webhooks follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert

from grader.extensions import db
from grader.kinds.base import ERROR, NEEDS_REVIEW, QUEUED
from grader.models import Status, Submission, SubmissionPart
from grader.services.changes import stamp_change
from grader.services.events import write_outbox

PENDING = frozenset({QUEUED, NEEDS_REVIEW})


def overall_status(part_statuses: Iterable[str]) -> Status:
    """Return the submission status implied by its parts' statuses (queued, then error, then
    needs_review win over graded)."""
    statuses = set(part_statuses)
    for status, overall in (
        (QUEUED, Status.QUEUED),
        (ERROR, Status.ERROR),
        (NEEDS_REVIEW, Status.NEEDS_REVIEW),
    ):
        if status in statuses:
            return overall
    return Status.GRADED


def total_score(parts: Iterable[dict[str, Any]]) -> float | None:
    """Return the sum of the parts' scores, or None while a part is pending (queued or waiting
    for review)."""
    total = 0.0
    for part in parts:
        if part.get("status") in PENDING:
            return None
        total += float(part.get("score") or 0)
    return round(total, 6)


def record_parts(submission: Submission, parts: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Set ``submission``'s part results (the JSON column and its ``submission_parts`` rows),
    its status and its score, in the caller's transaction (a new submission is added to the
    session and flushed, for its id), and stamp it as changed: the caller commits soon after
    and writes no other row in between (the change counter stays locked until the commit;
    ``stamp_change``) but the rows that carry the change to its receivers, which need its
    number (``events.write_outbox``: webhook events, LTI passbacks); return their ids, for
    ``events.grade_changed`` after the commit. A pending part's score is stored as None
    whatever the kind returned."""
    parts = [
        dict(part, score=None) if part.get("status") in PENDING else dict(part) for part in parts
    ]
    submission.parts = parts  # a new list: JSON columns do not track in-place changes
    submission.status = overall_status(part.get("status", "") for part in parts)
    submission.score = total_score(parts)
    new = submission.id is None
    if new:
        # Stamped before its INSERT, which then carries the number: no row of this transaction
        # can be waited on by another writer (a new row is invisible to them), so taking the
        # counter first cannot close a circle of waits (``stamp_change``).
        stamp_change(submission)
        db.session.add(submission)
        db.session.flush()
    else:
        db.session.execute(
            delete(SubmissionPart).where(SubmissionPart.submission_id == submission.id)
        )
    rows = [
        {
            "submission_id": submission.id,
            "part_id": part["id"],
            "position": position,
            "status": str(part.get("status") or "graded"),
            "score": part.get("score"),
            "max_score": float(part.get("max_score") or 0),
            "correct": bool(part.get("correct")),
            "diagnosis": str(part.get("diagnosis") or "")[:200],
            "feedback": str(part.get("feedback") or ""),
            "details": part.get("details") or {},
        }
        for position, part in enumerate(parts)
    ]
    # On the table (Core), an executemany of one cached statement: the rows need no ORM
    # objects, and a multi-row VALUES would be compiled again for every submission.
    if rows:
        db.session.execute(insert(SubmissionPart.__table__), rows)
    if not new:
        stamp_change(submission)  # the last write: the rows above are locked before the counter
    return write_outbox(submission)  # committed with the change, or rolled back with it
