"""Scores service: the best score per user and exercise, filtered and paged, and as CSV.

A user's best score on an exercise is the highest score among their counted submissions
(status ``graded`` or ``needs_review``) to any version of it; queued and failed submissions do
not count. A submission waiting for review has no score yet (null, never 0): it is counted in
``submissions`` and ``pending_review`` but not in ``best_score``, which is null while every
counted submission waits. ``max_score`` is the highest full mark among those submissions (the
current one unless the exercise's points changed), ``last_submission_at`` the newest of them.
Date filters select the submissions that count.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_, select

from grader.extensions import db
from grader.models import Assignment, Exercise, ExerciseVersion, Status, Submission, User

SCORED_STATUSES = (Status.GRADED, Status.NEEDS_REVIEW)
CSV_COLUMNS = ("user_id", "exercise", "best_score", "max_score", "last_submission_at")


class InvalidCursor(ValueError):
    """Raised for a pagination cursor this service did not issue."""


@dataclass(frozen=True)
class ScoreFilter:
    """Which submissions count: of one exercise (slug), one user (LMS id or email), a period,
    made in some courses (their ids; None: anywhere, even outside every course)."""

    exercise: str | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    course_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class BestScore:
    """One gradebook cell: a user's best score on an exercise."""

    user_id: int
    exercise_id: int
    user: str
    exercise: str
    best_score: float | None
    max_score: float
    submissions: int
    pending_review: int
    last_submission_at: datetime

    @property
    def cursor(self) -> str:
        """Return the opaque cursor that continues a listing after this row."""
        raw = f"{self.user_id}:{self.exercise_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Return the (user id, exercise id) a cursor points after; raise ``InvalidCursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        user_id, exercise_id = (int(part) for part in raw.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this service issued; use links.next") from None
    return user_id, exercise_id


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is taken to be UTC already.

    A time whose UTC equivalent falls outside what ``datetime`` holds (0001-01-01T00:15+01:00
    is in year 0 in UTC) becomes the earliest or latest time there is: as a filter bound it
    means "from the beginning" or "to the end".
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year < 5000 else datetime.max
        return edge.replace(tzinfo=UTC)


def best_scores(
    filters: ScoreFilter, limit: int | None = None, after: tuple[int, int] | None = None
) -> list[BestScore]:
    """Return best scores ordered by (user id, exercise id), at most ``limit`` of them,
    starting after the (user id, exercise id) pair ``after``."""
    group_user = Submission.user_id
    group_exercise = ExerciseVersion.exercise_id
    grouped = (
        select(
            group_user.label("user_id"),
            group_exercise.label("exercise_id"),
            func.max(Submission.score).label("best_score"),
            func.max(Submission.max_score).label("max_score"),
            func.count(Submission.id).label("submissions"),
            func.count(case((Submission.status == Status.NEEDS_REVIEW, 1))).label("pending_review"),
            func.max(Submission.created_at).label("last_submission_at"),
        )
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .where(Submission.status.in_(SCORED_STATUSES))
        .group_by(group_user, group_exercise)
    )
    if filters.exercise is not None:
        grouped = grouped.join(Exercise, ExerciseVersion.exercise_id == Exercise.id).where(
            Exercise.slug == filters.exercise
        )
    if filters.user is not None:
        grouped = grouped.join(User, Submission.user_id == User.id).where(
            or_(User.external_id == filters.user, User.email == filters.user.lower())
        )
    if filters.course_ids is not None:
        grouped = grouped.where(
            Submission.assignment_id.in_(
                select(Assignment.id).where(Assignment.course_id.in_(filters.course_ids))
            )
        )
    if filters.since is not None:
        grouped = grouped.where(Submission.created_at >= as_utc(filters.since))
    if filters.until is not None:
        grouped = grouped.where(Submission.created_at < as_utc(filters.until))
    if after is not None:
        grouped = grouped.where(
            or_(group_user > after[0], and_(group_user == after[0], group_exercise > after[1]))
        )
    grouped = grouped.order_by(group_user, group_exercise)
    if limit is not None:
        grouped = grouped.limit(limit)
    cells = grouped.subquery()
    query = (
        select(cells, User.external_id, User.email, Exercise.slug)
        .join(User, User.id == cells.c.user_id)
        .join(Exercise, Exercise.id == cells.c.exercise_id)
        .order_by(cells.c.user_id, cells.c.exercise_id)
    )
    return [
        BestScore(
            user_id=row.user_id,
            exercise_id=row.exercise_id,
            user=row.external_id or row.email or str(row.user_id),
            exercise=row.slug,
            best_score=None if row.best_score is None else float(row.best_score),
            max_score=float(row.max_score),
            submissions=int(row.submissions),
            pending_review=int(row.pending_review),
            last_submission_at=as_utc(row.last_submission_at),
        )
        for row in db.session.execute(query)
    ]


def iter_best_scores(filters: ScoreFilter, batch: int = 1000) -> Iterator[BestScore]:
    """Yield every best score matching ``filters``, reading the database in batches."""
    after = None
    while True:
        rows = best_scores(filters, limit=batch, after=after)
        yield from rows
        if len(rows) < batch:
            return
        after = (rows[-1].user_id, rows[-1].exercise_id)


def iso(value: datetime | None) -> str | None:
    """Return a timestamp as ISO 8601 in UTC with a ``Z`` (a naive one is taken to be UTC,
    as SQLite returns them), or None for None."""
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def csv_number(value: float) -> str:
    """Return a score as CSV text: 3, not 3.0; at most six decimals."""
    return str(int(value)) if float(value).is_integer() else repr(round(value, 6))


def csv_safe(value: object) -> object:
    """Return ``value``, with a ``'`` in front when it is text a spreadsheet would run as a
    formula (starting with = + - @, tab or carriage return: CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def scores_csv(rows: Iterable[BestScore]) -> str:
    """Return the rows as CSV with the header ``user_id,exercise,best_score,max_score,
    last_submission_at`` (comma-separated, CRLF line ends, UTF-8 text), ready for a gradebook."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                csv_safe(row.user),
                row.exercise,
                "" if row.best_score is None else csv_number(row.best_score),
                csv_number(row.max_score),
                iso(row.last_submission_at),
            )
        )
    return buffer.getvalue()
