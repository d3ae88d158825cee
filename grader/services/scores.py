"""Scores service: the best score per user and exercise, filtered and paged, and as CSV.

A user's best score on an exercise is what their counted submissions (status ``graded`` or
``needs_review``) to any version of it count for under the assignment's policy
(``services/policy.counted_score``: best, last or best with attempt penalties, late penalty,
scaled to the assignment's points); queued and failed submissions do not count. A
submission waiting for review has no score yet (null, never 0): it is counted in
``submissions`` and ``pending_review`` but not in ``best_score``, which is null while every
counted submission waits. ``max_score`` is the highest full mark among those submissions (the
current one unless the exercise's points changed), ``last_submission_at`` the newest of them.
Date filters select the submissions that count. A row's ``updated_at`` is the newest
``updated_at`` of the submissions that count in it: it changes whenever one of their grades or
statuses does, and ``changed_best_scores`` lists rows in the order of those changes.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, tuple_

from grader.extensions import db
from grader.models import Assignment, Exercise, ExerciseVersion, Status, Submission, User
from grader.services.changes import ChangePage, as_utc, committed_horizon, page_of_changes
from grader.services.policy import CountedScore, counted_score

__all__ = ["as_utc"]  # read from here by services.users

SCORED_STATUSES = (Status.GRADED, Status.NEEDS_REVIEW)
CSV_COLUMNS = ("user_id", "exercise", "best_score", "max_score", "last_submission_at")


class InvalidCursor(ValueError):
    """Raised for a pagination cursor this service did not issue."""


@dataclass(frozen=True)
class ScoreFilter:
    """Which submissions count: of one exercise (slug), one user (LMS id or email), a period
    of creation, made in some courses (their ids; None: anywhere, even outside every course);
    and which rows to list: changed at or after ``updated_since``."""

    exercise: str | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    updated_since: datetime | None = None
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
    updated_at: datetime
    change_seq: int

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


def _counted(filters: ScoreFilter) -> Select[int, int]:
    """Return the query of the (user id, exercise id) of the submissions that count, with the
    filters on exercise, user and creation date applied (columns added by the caller)."""
    query = (
        select(
            Submission.user_id.label("user_id"),
            ExerciseVersion.exercise_id.label("exercise_id"),
        )
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .where(Submission.status.in_(SCORED_STATUSES))
    )
    if filters.exercise is not None:
        query = query.join(Exercise, ExerciseVersion.exercise_id == Exercise.id).where(
            Exercise.slug == filters.exercise
        )
    if filters.user is not None:
        query = query.join(User, Submission.user_id == User.id).where(
            or_(User.external_id == filters.user, User.email == filters.user.lower())
        )
    return _in_period_and_courses(query, filters)


def _in_period_and_courses(query: Select, filters: ScoreFilter) -> Select:
    if filters.course_ids is not None:
        query = query.where(
            Submission.assignment_id.in_(
                select(Assignment.id).where(Assignment.course_id.in_(filters.course_ids))
            )
        )
    if filters.since is not None:
        query = query.where(Submission.created_at >= as_utc(filters.since))
    if filters.until is not None:
        query = query.where(Submission.created_at < as_utc(filters.until))
    return query


def best_scores(
    filters: ScoreFilter,
    limit: int | None = None,
    after: tuple[int, int] | None = None,
    groups: Sequence[tuple[int, int]] | None = None,
) -> list[BestScore]:
    """Return best scores ordered by (user id, exercise id), at most ``limit`` of them,
    starting after the (user id, exercise id) pair ``after``; only the (user id, exercise id)
    pairs of ``groups`` when it is given."""
    group_user = Submission.user_id
    group_exercise = ExerciseVersion.exercise_id
    grouped = (
        _counted(filters)
        .add_columns(
            func.max(Submission.score).label("best_score"),
            func.max(Submission.max_score).label("max_score"),
            func.count(Submission.id).label("submissions"),
            func.count(case((Submission.status == Status.NEEDS_REVIEW, 1))).label("pending_review"),
            func.max(Submission.created_at).label("last_submission_at"),
            func.max(Submission.updated_at).label("updated_at"),
            func.max(Submission.change_seq).label("change_seq"),
        )
        .group_by(group_user, group_exercise)
    )
    if filters.updated_since is not None:
        grouped = grouped.having(func.max(Submission.updated_at) >= as_utc(filters.updated_since))
    if groups is not None:
        grouped = grouped.where(tuple_(group_user, group_exercise).in_(list(groups)))
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
    rows = db.session.execute(query).all()
    counted = _counted_cells({(row.user_id, row.exercise_id) for row in rows}, filters)
    return [
        BestScore(
            user_id=row.user_id,
            exercise_id=row.exercise_id,
            user=row.external_id or row.email or str(row.user_id),
            exercise=row.slug,
            best_score=counted[row.user_id, row.exercise_id][0],
            max_score=counted[row.user_id, row.exercise_id][1],
            submissions=int(row.submissions),
            pending_review=int(row.pending_review),
            last_submission_at=as_utc(row.last_submission_at),
            updated_at=as_utc(row.updated_at),
            change_seq=int(row.change_seq),
        )
        for row in rows
    ]


# The columns of a submission that its counted score reads (policy.Scored), and its cell.
SCORED_COLUMNS = (
    Submission.id,
    Submission.user_id,
    ExerciseVersion.exercise_id,
    Submission.assignment_id,
    Submission.status,
    Submission.score,
    Submission.max_score,
    Submission.attempt,
    Submission.late,
)


def scored_rows(*where: Any) -> Select:
    """Return the query of ``SCORED_COLUMNS`` of the counted submissions matching ``where``."""
    return (
        select(*SCORED_COLUMNS)
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .where(Submission.status.in_(SCORED_STATUSES), *where)
    )


def user_counted_score(user_id: int, assignment: Assignment) -> CountedScore:
    """Return what the user's submissions to ``assignment`` count for under its policy
    (``policy.counted_score``: best, last or best with penalty, late and attempt penalties,
    in the assignment's points). Reads through the session, so changes not yet committed in
    the caller's transaction count."""
    rows = db.session.execute(
        scored_rows(Submission.user_id == user_id, Submission.assignment_id == assignment.id)
    )
    return counted_score(assignment, list(rows))


def counted_by_cell(rows: Iterable[Any]) -> dict[tuple[int, int], CountedScore]:
    """Return the counted score per (user id, exercise id) of ``rows`` (``scored_rows``).

    Submissions made for an assignment count by its policy (``policy.counted_score``); a cell
    whose submissions belong to several assignments (courses) counts the best of them, and
    submissions without an assignment count their highest score.
    """
    groups: dict[tuple[int, int], dict[int | None, list[Any]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        groups[row.user_id, row.exercise_id][row.assignment_id].append(row)
    ids = {a for cell in groups.values() for a in cell if a is not None}
    assignments = (
        {a.id: a for a in db.session.scalars(select(Assignment).where(Assignment.id.in_(ids)))}
        if ids
        else {}
    )
    result = {}
    for key, cell in groups.items():
        parts = [
            counted_score(assignments.get(a) if a is not None else None, subs)
            for a, subs in cell.items()
        ]
        known = [p for p in parts if p.score is not None]
        best = max(known, key=lambda p: p.score or 0.0) if known else None
        result[key] = CountedScore(
            best.score if best else None,
            max(p.max_score for p in parts),
            sum(p.submissions for p in parts),
            sum(p.pending_review for p in parts),
            best.submission_id if best else None,
        )
    return result


def _counted_cells(
    cells: set[tuple[int, int]], filters: ScoreFilter
) -> dict[tuple[int, int], tuple[float | None, float]]:
    """Return (counted score, full marks) of each (user id, exercise id) in ``cells``."""
    if not cells:
        return {}
    # A page's cells are ordered by user: a range of user ids (one index range, two bound
    # values) reads them, and at most the first and last user's other exercises besides.
    users = [user for user, _ in cells]
    query = scored_rows(
        Submission.user_id.between(min(users), max(users)),
        ExerciseVersion.exercise_id.in_({exercise for _, exercise in cells}),
    )
    query = _in_period_and_courses(query, filters)  # the same submissions as the cells
    counted = counted_by_cell(db.session.connection().execute(query))
    return {cell: (counted[cell].score, counted[cell].max_score) for cell in cells}


def changed_best_scores(filters: ScoreFilter, after: int, limit: int) -> ChangePage:
    """Return the best-score rows that changed after change number ``after``, in the order of
    their last change (a row's ``change_seq`` is the newest of its submissions'), at most
    ``limit`` of them. A row that changes again while a client pages comes again, later."""
    horizon = committed_horizon()  # read first: every change up to it is visible below
    touched = (
        _counted(filters)
        .add_columns(func.max(Submission.change_seq).label("change_seq"))
        .where(Submission.change_seq > after, Submission.change_seq <= horizon)
        .group_by(Submission.user_id, ExerciseVersion.exercise_id)
        .order_by(func.max(Submission.change_seq))
        .limit(limit + 1)
    )
    if filters.updated_since is not None:
        touched = touched.where(Submission.updated_at >= as_utc(filters.updated_since))
    page = page_of_changes(list(db.session.execute(touched)), limit, after, horizon)
    groups = [(row.user_id, row.exercise_id) for row in page.rows]
    by_group = {(r.user_id, r.exercise_id): r for r in best_scores(filters, groups=groups)}
    # In the order of the change numbers read with the horizon; a row whose submissions
    # changed since is shown as it is now, and comes again after the horizon.
    rows = [by_group[group] for group in groups if group in by_group]
    return ChangePage(rows, page.next_after, page.resume_after)


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
