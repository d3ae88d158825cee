"""Assignments of a course: adding an exercise to a course and setting its policy (when it is
open, how attempts and scores count, how much feedback is shown), from text as people type it.

The command line (``grader courses assign``) and the instructor's form give the same text to
``parse_policy``: one reader for both. Times without an offset are wall-clock times in the
course's time zone; they are stored in UTC (DESIGN section 8, courses).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from grader.extensions import db
from grader.models import Assignment, Course, Exercise, FeedbackLevel, ScorePolicy
from grader.services.courses import CourseError, ensure_assignment
from grader.services.scores import as_utc

TIME_FIELDS = ("opens_at", "due_at", "closes_at")
POLICY_FIELDS = (
    *TIME_FIELDS,
    "max_attempts",
    "free_attempts",
    "attempt_penalty",
    "score_policy",
    "feedback",
    "points",
    "late_penalty",
)
FIELD_LABELS = {
    "opens_at": "opens",
    "due_at": "due",
    "closes_at": "closes",
    "max_attempts": "max attempts",
    "free_attempts": "free attempts",
    "attempt_penalty": "attempt penalty",
    "score_policy": "score policy",
    "feedback": "feedback",
    "points": "points",
    "late_penalty": "late penalty",
}
MAX_FIELD_CHARS = 64
UNLIMITED = ("", "unlimited", "none")


class PolicyError(CourseError):
    """Raised for policy text that cannot be read; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{FIELD_LABELS[k]}: {v}" for k, v in errors.items()))
        self.errors = errors


def parse_course_time(text: str, time_zone: str) -> datetime | None:
    """Return the UTC time that ``text`` names, or None for empty text.

    ``text`` is ISO 8601 (``2026-12-24T17:00``, with optional seconds, ``T`` or a space); one
    without an offset is a wall-clock time in ``time_zone``. Raises ``ValueError`` with a message
    for anything else."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_FIELD_CHARS:
        raise ValueError("too long for a date and time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("enter a date and time like 2026-12-24T17:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(time_zone))
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("that date is out of range") from None


def course_time(value: datetime | None, time_zone: str) -> datetime | None:
    """Return the stored time ``value`` (UTC; naive from SQLite) in ``time_zone``, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(time_zone))


def local_input(value: datetime | None, time_zone: str) -> str:
    """Return ``value`` as a ``datetime-local`` input's text in ``time_zone`` ('' for None)."""
    local = course_time(value, time_zone)
    return "" if local is None else local.strftime("%Y-%m-%dT%H:%M")


def _fraction(text: str) -> float:
    """Read a fraction: 0.1, or 10% (0 to 1); raise ``ValueError`` for anything else."""
    percent = text.endswith("%")
    value = float(text.rstrip("%").strip()) / (100 if percent else 1)
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ValueError("out of range")
    return value


def _read_max_attempts(text: str) -> int | None:
    if text.lower() in UNLIMITED:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError("enter a whole number of at least 1, or leave it empty (unlimited)")
    return int(text)


def _read_free_attempts(text: str) -> int:
    if not text.isdigit():
        raise ValueError("enter a whole number, 0 or more")
    return int(text)


def _read_penalty(text: str) -> float:
    try:
        return _fraction(text or "0")
    except ValueError:
        raise ValueError("enter a fraction from 0 to 1 (0.1), or a percentage (10%)") from None


def _read_choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}")
        return text

    return read


def _read_points(text: str) -> float | None:
    if text.lower() in ("", "exercise", "default"):
        return None
    try:
        points = float(text)
    except ValueError:
        points = math.nan
    if not math.isfinite(points) or points <= 0 or points > 1e6:
        raise ValueError("enter a positive number, or leave it empty (the exercise's points)")
    return points


READERS: dict[str, Callable[[str], Any]] = {
    "max_attempts": _read_max_attempts,
    "free_attempts": _read_free_attempts,
    "attempt_penalty": _read_penalty,
    "late_penalty": _read_penalty,
    "score_policy": _read_choice(tuple(ScorePolicy)),
    "feedback": _read_choice(tuple(FeedbackLevel)),
    "points": _read_points,
}


def _read_field(name: str, text: str, time_zone: str) -> Any:
    if name in TIME_FIELDS:
        return parse_course_time(text, time_zone)
    return READERS[name](text)


def _parse(raw: Mapping[str, str | None], time_zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in POLICY_FIELDS:
        text = raw.get(name)
        if text is None:
            continue
        text = str(text).strip()
        if len(text) > MAX_FIELD_CHARS:
            errors[name] = "too long"
            continue
        try:
            values[name] = _read_field(name, text, time_zone)
        except ValueError as exc:
            errors[name] = str(exc)
    return values, errors


def parse_policy(raw: Mapping[str, str | None], time_zone: str) -> dict[str, Any]:
    """Return the policy fields that ``raw`` gives (field name -> text; a missing or None field
    is left as it is) as values to store. Raises ``PolicyError`` naming every field that cannot
    be read."""
    values, errors = _parse(raw, time_zone)
    if errors:
        raise PolicyError(errors)
    return values


def _order_errors(times: Mapping[str, datetime | None]) -> dict[str, str]:
    """Return an error for each time before an earlier one of opens, due, closes."""
    set_times = [(name, as_utc(value)) for name, value in times.items() if value is not None]
    errors = {}
    for (first, early), (second, late) in zip(set_times, set_times[1:], strict=False):
        if late < early:
            errors[second] = f"must not be before {FIELD_LABELS[first]}"
    return errors


def update_policy(assignment: Assignment, raw: Mapping[str, str | None]) -> Assignment:
    """Set the policy text ``raw`` (see ``parse_policy``; times in the course's time zone) on
    ``assignment`` (flushed, not committed). Raises ``PolicyError`` naming every field that
    cannot be read and every time out of order (opens, due, closes); nothing is set then."""
    values, errors = _parse(raw, assignment.course.time_zone)
    times = {
        name: values[name] if name in values else getattr(assignment, name)
        for name in TIME_FIELDS
        if name not in errors
    }
    errors.update({k: v for k, v in _order_errors(times).items() if k not in errors})
    if errors:
        raise PolicyError({name: errors[name] for name in POLICY_FIELDS if name in errors})
    for name, value in values.items():
        setattr(assignment, name, value)
    db.session.flush()
    return assignment


def assign(
    course: Course, exercise_slug: str, raw: Mapping[str, str | None]
) -> tuple[Assignment, bool]:
    """Add the exercise ``exercise_slug`` to ``course`` as an assignment, or update the
    assignment it has, with the policy text ``raw`` (see ``parse_policy``); commit. Returns the
    assignment and whether it is new. Raises ``CourseError`` for an unknown exercise and
    ``PolicyError`` for policy text that cannot be read (nothing changes then)."""
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == exercise_slug))
    if exercise is None:
        raise CourseError(f"there is no exercise {exercise_slug!r}; import it first")
    existed = db.session.scalar(
        select(Assignment.id).where(
            Assignment.course_id == course.id, Assignment.exercise_id == exercise.id
        )
    )
    try:
        assignment = update_policy(ensure_assignment(course, exercise), raw)
    except PolicyError:
        db.session.rollback()
        raise
    db.session.commit()
    return assignment, existed is None


def unassigned_exercises(course: Course) -> list[Exercise]:
    """Return the exercises that ``course`` has no assignment of, by slug."""
    assigned = select(Assignment.exercise_id).where(Assignment.course_id == course.id)
    return list(
        db.session.scalars(
            select(Exercise).where(Exercise.id.not_in(assigned)).order_by(Exercise.slug)
        )
    )
