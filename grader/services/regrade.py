"""Regrading: grade stored submissions again, against the current or a named version.

Each submission is graded with its stored seed, so the trials are the ones it was first graded
on. Before a submission's grade is replaced, the old one (version, status, score, parts) is
added to ``submission_grades``, in the same transaction; nothing is lost.

Decisions:
- Submissions still ``queued`` are skipped (a worker owns them; they finish against their own
  version, and a later regrade picks them up).
- A part graded by hand (an instructor's review) keeps its reviewed result, its score capped at
  the part's new points; a text part still waiting for review stays waiting.
- Deferred parts (code) are graded in this process, like ``grader grade``. A part whose new
  result is an internal or sandbox error keeps its old result, so an unavailable sandbox never
  wipes scores; the report counts such parts.
- Answers to parts the new version no longer has are kept in ``answers`` but not graded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from grader.extensions import db
from grader.kinds.base import ERROR
from grader.metrics import count_submission
from grader.models import Exercise, ExerciseVersion, Submission, SubmissionGrade, utcnow
from grader.services.events import Outbox, grade_changed
from grader.services.exercises import ExerciseNotFound, spec_of
from grader.services.grading import grade_answers
from grader.services.results import record_parts

log = logging.getLogger(__name__)


class RegradeError(ValueError):
    """Raised when a regrade cannot start (no such version); the message says why."""


@dataclass(frozen=True)
class ScoreChange:
    """One submission whose score changed."""

    submission_id: int
    user: str
    old_score: float | None
    new_score: float | None
    max_score: float


@dataclass
class RegradeReport:
    """What a regrade did."""

    slug: str
    version: int
    regraded: int = 0
    changed: list[ScoreChange] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    kept_parts: int = 0

    def summary_lines(self) -> list[str]:
        """Return the summary the CLI prints: counts, then each changed score."""
        lines = [
            f"{self.slug}: regraded {self.regraded} submission(s) against version "
            f"{self.version}; {len(self.changed)} score(s) changed, "
            f"{len(self.skipped)} skipped"
        ]
        if self.kept_parts:
            lines.append(
                f"{self.kept_parts} part(s) kept their old result because grading "
                "them failed now (see the log)"
            )
        for change in self.changed:
            old = "-" if change.old_score is None else f"{change.old_score:g}"
            new = "pending" if change.new_score is None else f"{change.new_score:g}"
            lines.append(
                f"  submission {change.submission_id} ({change.user}): {old} -> "
                f"{new} / {change.max_score:g}"
            )
        for submission_id, reason in self.skipped:
            lines.append(f"  skipped submission {submission_id}: {reason}")
        return lines


def _exercise(slug: str) -> Exercise:
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if exercise is None:
        raise ExerciseNotFound(f"no exercise {slug!r} has been imported")
    return exercise


def target_version(slug: str, number: int | None = None) -> ExerciseVersion:
    """Return version ``number`` of ``slug`` (the newest when None).

    Raises ``ExerciseNotFound`` or ``RegradeError`` (no such version number).
    """
    exercise = _exercise(slug)
    query = select(ExerciseVersion).where(ExerciseVersion.exercise_id == exercise.id)
    if number is None:
        version = db.session.scalar(query.order_by(ExerciseVersion.number.desc()).limit(1))
    else:
        version = db.session.scalar(query.where(ExerciseVersion.number == number))
    if version is None:
        raise RegradeError(f"{slug} has no version {number}")
    return version


def _submission_ids(slug: str) -> list[int]:
    exercise = _exercise(slug)
    return list(
        db.session.scalars(
            select(Submission.id)
            .join(ExerciseVersion)
            .where(ExerciseVersion.exercise_id == exercise.id)
            .order_by(Submission.id)
        )
    )


def count_regradable(slug: str) -> int:
    """Return how many stored submissions ``slug`` has (the regrade's progress length)."""
    exercise = _exercise(slug)
    return int(
        db.session.scalar(
            select(func.count(Submission.id))
            .join(ExerciseVersion)
            .where(ExerciseVersion.exercise_id == exercise.id)
        )
        or 0
    )


def _merge(
    old_parts: list[dict[str, Any]], new_parts: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Return the new parts with hand-reviewed and now-failing parts taken from the old ones."""
    old_by_id = {part.get("id"): part for part in old_parts}
    merged, kept = [], 0
    for part in new_parts:
        old = old_by_id.get(part["id"])
        reviewed = old is not None and bool(old.get("reviewed_by"))
        failing_now = old is not None and part.get("status") == ERROR and old.get("status") != ERROR
        if old is not None and (reviewed or failing_now):
            cap = float(part["max_score"])
            merged.append(dict(old, max_score=cap, score=min(float(old.get("score") or 0), cap)))
            kept += 0 if reviewed else 1
        else:
            merged.append(part)
    return merged, kept


def regrade_submission(
    submission: Submission, version: ExerciseVersion, spec: Any, reason: str
) -> tuple[float | None, float | None, int, Outbox]:
    """Record the submission's grade in the history, then grade it again; return (old score,
    new score, parts kept from the old grade, what the change wrote for its receivers). The
    caller commits, then calls ``grade_changed`` with the last."""
    known = {part.id for part in spec.parts}
    answers = {key: value for key, value in (submission.answers or {}).items() if key in known}
    results = [result.to_dict() for result in grade_answers(spec, answers, submission.seed)]
    # Lock the row and read it again: a review committed while this was graded is kept
    # (``_merge``), not overwritten by the copy read before grading.
    db.session.refresh(submission, with_for_update=True)
    db.session.add(
        SubmissionGrade(
            submission_id=submission.id,
            exercise_version_id=submission.exercise_version_id,
            status=submission.status,
            score=submission.score,
            max_score=submission.max_score,
            parts=list(submission.parts or []),
            graded_at=submission.graded_at,
            reason=reason[:200],
        )
    )
    parts, kept = _merge(list(submission.parts or []), results)
    old_score = submission.score
    submission.exercise_version_id = version.id
    submission.max_score = spec.max_score  # before the webhook events are written with it
    outbox = record_parts(submission, parts)
    submission.graded_at = utcnow()
    return old_score, submission.score, kept, outbox


def regrade_exercise(
    slug: str, version_number: int | None = None, progress: Callable[[int], None] | None = None
) -> RegradeReport:
    """Regrade every stored submission of ``slug`` against a version; return the report.

    Each submission is committed with its history row in one transaction. Raises
    ``ExerciseNotFound`` and ``RegradeError``.
    """
    version = target_version(slug, version_number)
    spec = spec_of(version)
    report = RegradeReport(slug, version.number)
    reason = f"regrade against version {version.number}"
    for submission_id in _submission_ids(slug):
        submission = db.session.get(Submission, submission_id)
        if submission is None:  # deleted since the ids were listed
            continue
        if submission.status == "queued":
            report.skipped.append((submission_id, "still queued for grading"))
        else:
            try:
                was = submission.status
                old, new, kept, outbox = regrade_submission(submission, version, spec, reason)
                user, status = submission.user.display_name, submission.status
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("regrading submission %s failed", submission_id)
                report.skipped.append((submission_id, "grading failed; the old grade is kept"))
            else:
                report.regraded += 1
                report.kept_parts += kept
                grade_changed(submission_id, outbox)
                if status != was:
                    count_submission(slug, (p.kind for p in spec.parts), status)
                if (old is None) != (new is None) or (
                    old is not None and new is not None and abs(new - old) > 1e-9
                ):
                    report.changed.append(
                        ScoreChange(submission_id, user, old, new, spec.max_score)
                    )
        if progress is not None:
            progress(submission_id)
    return report


def grade_history(submission_id: int) -> list[SubmissionGrade]:
    """Return a submission's replaced grades, oldest first."""
    return list(
        db.session.scalars(
            select(SubmissionGrade)
            .where(SubmissionGrade.submission_id == submission_id)
            .order_by(SubmissionGrade.id)
        )
    )
