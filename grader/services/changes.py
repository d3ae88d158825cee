"""Changes of submissions in commit order: what an LMS syncs incrementally (DESIGN section 8).

Every change of a submission's grade or status takes the next number of one counter row
(``change_counter``) and stores it, with the time, on the submission (``change_seq``,
``updated_at``). Taking the number locks the counter row until the transaction commits or rolls
back, so a later number is only handed out once the earlier one is committed (or returned, on a
rollback): numbers follow the order of the commits, without gaps, and ``updated_at`` never goes
back. A reader that has seen the committed counter at ``V`` therefore knows every change up to
``V`` is visible, and that no change it has not seen can ever be numbered ``<= V``. Lists keyed
on the number skip nothing and repeat a row only when it changed again, whatever the clocks of
the processes that wrote them say.

What it costs: writers of grades queue for the counter row between their stamp and their commit
(a few statements: the stamp is the last write of the transaction), which bounds grade writes to
a few thousand per second, far above what a deadline brings (DESIGN section 8).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.orm import contains_eager, joinedload

from grader.extensions import db
from grader.models import (
    Assignment,
    ChangeCounter,
    Exercise,
    ExerciseVersion,
    Submission,
    User,
    utcnow,
)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime (as SQLite returns them) is UTC already. A time
    whose UTC equivalent is out of ``datetime``'s range becomes the earliest or latest there is
    (as a filter bound: from the beginning, to the end)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year < 5000 else datetime.max
        return edge.replace(tzinfo=UTC)


class CounterMissing(RuntimeError):
    """Raised when the ``change_counter`` row is missing: the migrations have not run."""


class InvalidChangeCursor(ValueError):
    """Raised for a change cursor this service did not issue."""


# Run by every grade change, built once; the time goes in as a bound parameter.
_NOW = bindparam("now", type_=ChangeCounter.at.type)
TAKE_NUMBER = (
    update(ChangeCounter)
    .where(ChangeCounter.id == 1)
    .values(
        value=ChangeCounter.value + 1,
        at=case((ChangeCounter.at > _NOW, ChangeCounter.at), else_=_NOW),
    )
    .returning(ChangeCounter.value, ChangeCounter.at)
    .execution_options(synchronize_session=False)
)


def stamp_change(submission: Submission) -> None:
    """Give ``submission`` the next change number and its time, in the caller's transaction.

    Call it as the last write of the transaction: it flushes the session first (so the rows it
    writes are locked before the counter is), then locks the counter row until the commit. Locks
    are always taken in that order (rows, then the counter), so two writers never wait for each
    other in a circle. The one exception is a submission not yet inserted: it may be stamped
    first, so that its ``INSERT`` carries the number, because no other writer can wait for a row
    it cannot see (two inserts that would collide on a unique index both take the counter
    first, and the second finds the first committed). Raises ``CounterMissing`` if the counter
    row does not exist.
    """
    db.session.flush()
    row = db.session.execute(TAKE_NUMBER, {"now": utcnow()}).one_or_none()
    if row is None:
        raise CounterMissing("the change_counter row is missing; run `grader db upgrade`")
    submission.change_seq = int(row.value)
    submission.updated_at = as_utc(row.at)


def committed_horizon() -> int:
    """Return the last change number that is committed: every change numbered up to it is
    visible now and for good, and no change committed later can get a number at or below it."""
    value = db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1))
    if value is None:
        raise CounterMissing("the change_counter row is missing; run `grader db upgrade`")
    return int(value)


def encode_change_cursor(change_seq: int) -> str:
    """Return the opaque cursor of a change-ordered list that continues after ``change_seq``."""
    return base64.urlsafe_b64encode(f"c{change_seq}".encode()).decode().rstrip("=")


def decode_change_cursor(cursor: str) -> int:
    """Return the change number a cursor from ``encode_change_cursor`` holds; raise
    ``InvalidChangeCursor`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("c") or not raw[1:].isdigit() or len(raw) > 20:
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidChangeCursor("not a change cursor this service issued") from None


@dataclass(frozen=True)
class ChangeFilter:
    """Which changed submissions to list: changed at or after ``updated_since``, of one
    exercise (slug), of one user (LMS id or email), made in some courses (their ids; None:
    anywhere)."""

    updated_since: datetime | None = None
    exercise: str | None = None
    user: str | None = None
    course_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ChangePage:
    """A page of a change-ordered list: its rows, the change number the next page starts
    after (None on the last page) and the one to resume from later (always set)."""

    rows: list[Any]
    next_after: int | None
    resume_after: int


def page_of_changes(rows: list[Any], limit: int, after: int, horizon: int) -> ChangePage:
    """Return the page of ``rows`` (read with ``limit + 1``, in change order, each with a
    ``change_seq``) read after ``after`` up to the committed ``horizon``."""
    page, more = rows[:limit], len(rows) > limit
    if more:
        last = int(page[-1].change_seq)
        return ChangePage(page, last, last)
    # Everything up to the horizon has been read: a later sync starts there.
    return ChangePage(page, None, max(after, horizon))


def changed_submissions(filters: ChangeFilter, after: int, limit: int) -> ChangePage:
    """Return the submissions changed after change number ``after``, oldest change first, at
    most ``limit`` of them, with the user and the exercise loaded."""
    horizon = committed_horizon()  # read first: every change up to it is visible below
    query = (
        select(Submission)
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .where(Submission.change_seq > after, Submission.change_seq <= horizon)
        .options(
            contains_eager(Submission.version).joinedload(ExerciseVersion.exercise),
            joinedload(Submission.user),
        )
        .order_by(Submission.change_seq)
        .limit(limit + 1)
    )
    if filters.updated_since is not None:
        query = query.where(Submission.updated_at >= as_utc(filters.updated_since))
    if filters.exercise is not None:
        query = query.join(Exercise, ExerciseVersion.exercise_id == Exercise.id).where(
            Exercise.slug == filters.exercise
        )
    if filters.user is not None:
        query = query.join(User, Submission.user_id == User.id).where(
            or_(User.external_id == filters.user, User.email == filters.user.lower())
        )
    if filters.course_ids is not None:
        query = query.where(
            Submission.assignment_id.in_(
                select(Assignment.id).where(Assignment.course_id.in_(filters.course_ids))
            )
        )
    rows = list(db.session.scalars(query).unique())
    return page_of_changes(rows, limit, after, horizon)
