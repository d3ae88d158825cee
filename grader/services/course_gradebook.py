"""A course's gradebook: one row per student, one column per assignment, and the total; as a
table for the instructor's page and as a wide CSV file.

Each cell is the score that counts for the student on the assignment, in the assignment's
points (``counted_score``: the one function that decides it). Times are ISO 8601 in the
course's time zone, with its offset. Text cells a spreadsheet would run as a formula are
guarded as in the API's CSV (``scores.csv_safe``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from grader.extensions import db
from grader.models import Assignment, Course, CourseRole, Enrolment, Status, Submission, User
from grader.services import policy
from grader.services.access import STAFF_ROLES
from grader.services.assignments import course_time
from grader.services.exercises import list_current_versions, spec_of
from grader.services.policy import CountedScore
from grader.services.scores import as_utc, csv_number, csv_safe


@dataclass(frozen=True)
class GradebookColumn:
    """One assignment: its exercise's slug and title, and the points it is worth."""

    assignment_id: int
    slug: str
    title: str
    points: float


@dataclass(frozen=True)
class GradebookRow:
    """One student: who, the counted score per column (None: nothing counted yet), the total,
    how many submissions wait for review, and when they last submitted (UTC). Per column as
    well: the submission that gives the score (``policy.CountedScore.submission_id``: None
    without one) and how many submissions count."""

    user_id: int
    email: str | None
    external_id: str | None
    issuer: str | None
    cells: tuple[float | None, ...]
    total: float
    pending_review: int
    last_submission_at: datetime | None
    counted_ids: tuple[int | None, ...] = ()
    submissions: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """Return how the student is shown: the email, else the external id."""
        return self.email or self.external_id or f"user {self.user_id}"


@dataclass(frozen=True)
class CourseGradebook:
    """The whole gradebook of a course."""

    course: Course
    columns: tuple[GradebookColumn, ...]
    rows: tuple[GradebookRow, ...]

    @property
    def max_total(self) -> float:
        """Return the points of every assignment together."""
        return sum(column.points for column in self.columns)


def counted_score(assignment: Assignment, submissions: Sequence[Submission]) -> CountedScore:
    """Return what counts for one student on ``assignment`` from their graded and waiting
    ``submissions`` (oldest first): the score (None when none has one yet) in the assignment's
    points, and the submission that gives it.

    The one place the gradebook asks what counts: the assignment's policy
    (``policy.counted_score``: best, last or best with penalty, attempt and late penalties),
    in the assignment's points, or the exercise's full marks when it names none.
    """
    counted = policy.counted_score(assignment, submissions)
    score = None if counted.score is None else round(counted.score, 6)
    return replace(counted, score=score)


def _columns(course: Course) -> list[tuple[Assignment, GradebookColumn]]:
    maximum = {
        version.exercise_id: spec_of(version).max_score for version in list_current_versions()
    }
    return [
        (
            assignment,
            GradebookColumn(
                assignment.id,
                assignment.exercise.slug,
                assignment.exercise.title,
                float(assignment.points or maximum.get(assignment.exercise_id, 0.0)),
            ),
        )
        for assignment in course.assignments
    ]


def course_gradebook(course: Course) -> CourseGradebook:
    """Return the gradebook of ``course``: every student enrolled, and everyone else not
    on its staff who submitted to its assignments, ordered by email or external id."""
    columns = _columns(course)
    ids = [assignment.id for assignment, _ in columns]
    attempts: dict[tuple[int, int], list[Submission]] = defaultdict(list)
    query = (
        select(Submission)
        .where(
            Submission.assignment_id.in_(ids),
            Submission.status.in_((Status.GRADED, Status.NEEDS_REVIEW)),
        )
        .order_by(Submission.created_at, Submission.id)
    )
    for row in db.session.scalars(query):
        attempts[(row.user_id, row.assignment_id or 0)].append(row)
    roles = dict(
        db.session.execute(
            select(Enrolment.user_id, Enrolment.role).where(Enrolment.course_id == course.id)
        ).all()
    )
    staff = {user_id for user_id, role in roles.items() if role in STAFF_ROLES}
    user_ids = {u for u, r in roles.items() if r == CourseRole.STUDENT}
    user_ids |= {user_id for user_id, _ in attempts if user_id not in staff}
    users = list(db.session.scalars(select(User).where(User.id.in_(user_ids)))) if user_ids else []
    users.sort(key=lambda u: (u.email or u.external_id or "", u.id))
    rows = []
    for user in users:
        counted = [
            counted_score(assignment, attempts.get((user.id, assignment.id), []))
            for assignment, _ in columns
        ]
        cells = tuple(c.score for c in counted)
        mine = [a for assignment, _ in columns for a in attempts.get((user.id, assignment.id), [])]
        rows.append(
            GradebookRow(
                user.id,
                user.email,
                user.external_id,
                user.issuer,
                cells,
                round(sum(cell or 0.0 for cell in cells), 6),
                sum(1 for a in mine if a.status == Status.NEEDS_REVIEW),
                max((as_utc(a.created_at) for a in mine), default=None),
                tuple(c.submission_id for c in counted),
                tuple(c.submissions for c in counted),
            )
        )
    return CourseGradebook(course, tuple(column for _, column in columns), tuple(rows))


def course_time_iso(value: datetime | None, time_zone: str) -> str:
    """Return ``value`` as ISO 8601 in ``time_zone`` with its offset, to the second ('' for
    None)."""
    local = course_time(value, time_zone)
    return "" if local is None else local.isoformat(timespec="seconds")


def gradebook_csv(book: CourseGradebook) -> str:
    """Return the gradebook as wide CSV: ``email, external_id, issuer``, one column per
    assignment (its exercise's slug), ``total, max_total, pending_review,
    last_submission_at`` (ISO 8601 with the course's offset); one row per student."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "email",
            "external_id",
            "issuer",
            *(csv_safe(column.slug) for column in book.columns),
            "total",
            "max_total",
            "pending_review",
            "last_submission_at",
        ]
    )
    max_total = csv_number(book.max_total)
    for row in book.rows:
        writer.writerow(
            [
                csv_safe(row.email or ""),
                csv_safe(row.external_id or ""),
                csv_safe(row.issuer or ""),
                *("" if cell is None else csv_number(cell) for cell in row.cells),
                csv_number(row.total),
                max_total,
                row.pending_review,
                course_time_iso(row.last_submission_at, book.course.time_zone),
            ]
        )
    return buffer.getvalue()
