"""Storing a submission's per-part results: the one function every writer of a grade calls.

A submission's results live twice, written together by ``record_parts`` in the caller's
transaction: as JSON in ``submissions.parts`` (what the result object and the result page read,
one row per submission) and as rows of ``submission_parts`` (what the instructor statistics
aggregate in SQL). The submission's status follows from its parts, and its score is their sum
once every part has one: a part that is queued for grading, or waits for an instructor's review,
has no score yet (``None``), and neither has the submission.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from grader.kinds.base import ERROR, NEEDS_REVIEW, QUEUED
from grader.models import Status, Submission, SubmissionPart

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


def record_parts(submission: Submission, parts: list[dict[str, Any]]) -> None:
    """Set ``submission``'s part results (the JSON column and its ``submission_parts`` rows),
    its status and its score, in the caller's transaction. A pending part's score is stored as
    None whatever the kind returned for it."""
    parts = [
        dict(part, score=None) if part.get("status") in PENDING else dict(part) for part in parts
    ]
    submission.parts = parts  # a new list: JSON columns do not track in-place changes
    submission.status = overall_status(part.get("status", "") for part in parts)
    submission.score = total_score(parts)
    rows = {row.part_id: row for row in submission.part_rows}
    kept = []
    for position, part in enumerate(parts):
        row = rows.get(part["id"]) or SubmissionPart(part_id=part["id"])
        row.position = position
        row.status = str(part.get("status") or "graded")
        row.score = part.get("score")
        row.max_score = float(part.get("max_score") or 0)
        row.correct = bool(part.get("correct"))
        row.diagnosis = str(part.get("diagnosis") or "")[:200]
        row.feedback = str(part.get("feedback") or "")
        row.details = part.get("details") or {}
        kept.append(row)
    submission.part_rows = kept  # rows of parts no longer present are deleted (delete-orphan)
