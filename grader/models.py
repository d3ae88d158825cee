"""SQLAlchemy 2.0 typed models (DESIGN section 8).

The schema changes only through Alembic migrations in ``migrations/``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.extensions import db

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Role(StrEnum):
    """What a user may do: ``users.role``."""

    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


class Status(StrEnum):
    """Where a submission stands: ``submissions.status``. Its score is known (not null) only
    once it is ``graded`` or ``error``: a queued part, or one waiting for review, has no score
    yet."""

    QUEUED = "queued"
    GRADED = "graded"
    ERROR = "error"
    NEEDS_REVIEW = "needs_review"


class CourseRole(StrEnum):
    """What a user may do in one course: ``enrolments.role``."""

    STUDENT = "student"
    TA = "ta"
    INSTRUCTOR = "instructor"


class ScorePolicy(StrEnum):
    """Which of a student's submissions to an assignment counts: ``assignments.score_policy``.

    Every policy applies the late penalty. ``best``: the highest score, attempt penalties not
    applied; ``last``: the latest submission's score, its attempt penalty applied;
    ``best-with-penalty``: the highest score after each attempt's penalty.
    """

    BEST = "best"
    LAST = "last"
    BEST_WITH_PENALTY = "best-with-penalty"


class FeedbackLevel(StrEnum):
    """How much a student is told after a submission: ``assignments.feedback``.

    ``full``: everything the kind says; ``hints``: the mistake is named, no expected value is
    ever stated; ``score-only``: the score of each part and nothing else.
    """

    FULL = "full"
    HINTS = "hints"
    SCORE_ONLY = "score-only"


class Source(StrEnum):
    """Where a submission came from: ``submissions.source``."""

    WEB = "web"
    API = "api"
    CLI = "cli"


ROLES = tuple(Role)
SUBMISSION_STATUSES = tuple(Status)
# A stored part's status (grader.kinds.base.PartStatus without "invalid", never stored).
PART_STATUSES = ("graded", "queued", "needs_review", "error")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """Return the SQL of a CHECK that ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class User(db.Model):
    """A person: signs in with a password, or is known to an identity provider (an LMS through
    an API token, an LTI platform) by its external id there: (issuer, external_id) is unique,
    the external id alone is not (two LMSs may both have a user "42")."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        UniqueConstraint("issuer", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # Who vouches for external_id: an API token's issuer (``api:<course slug>`` unless set) or
    # an LTI platform's ``iss``. Null for users who sign in with a password only.
    issuer: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="student")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    # Part of every session cookie's user id; raised to end every session of the user (signing
    # out, a new password), so a copied cookie stops working on the server too.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submissions: Mapped[list[Submission]] = relationship(back_populates="user")
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="user")

    @property
    def public_id(self) -> str:
        """Return how API clients know the user: the LMS id, else the email, else the row id."""
        return self.external_id or self.email or str(self.id)

    @property
    def display_name(self) -> str:
        """Return the email, else the LMS id, else ``user <id>``."""
        return self.email or self.external_id or f"user {self.id}"


EXERCISE_STATUSES = ("live", "hidden", "draft", "retired")
EXERCISE_OPEN = ("live", "hidden")


class Exercise(db.Model):
    """An exercise by slug; its content lives in immutable versions."""

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    # live: listed and open; hidden: open to whoever has the link, not listed; draft: only
    # instructors see it (a failing self-test keeps an import here); retired: closed, results
    # kept. Submissions need live or hidden (EXERCISE_OPEN).
    status: Mapped[str] = mapped_column(String(20), default="live", server_default="live")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[ExerciseVersion]] = relationship(
        back_populates="exercise", order_by="ExerciseVersion.number"
    )


class ExerciseVersion(db.Model):
    """One imported content of an exercise. Never updated: an edit makes a new version."""

    __tablename__ = "exercise_versions"
    __table_args__ = (UniqueConstraint("exercise_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # The two large columns load only when read: grading needs the spec, and spec_of caches
    # it per process by (id, content_hash), so a submission does not fetch them.
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType, deferred=True)
    source_yaml: Mapped[str] = mapped_column(Text, deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    exercise: Mapped[Exercise] = relationship(back_populates="versions")


class ApiToken(db.Model):
    """A bearer token for the REST API. Only the SHA-256 of the token is stored.

    A token belongs to one course and reaches nothing outside it; ``course_id`` null means
    every course, which only a token with the ``admin`` scope may have.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    # The identity provider of the users this token names (User.issuer); a new token for the
    # same LMS keeps the issuer so its users stay the same people.
    issuer: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    course: Mapped[Course | None] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        """Return the token's scopes as a set."""
        return frozenset(self.scopes.split())


class Course(db.Model):
    """The unit a school adopts: its enrolled users, its assignments, its tokens."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    term: Mapped[str | None] = mapped_column(String(100))
    # An IANA name (Europe/Berlin): times are stored in UTC and shown in this zone.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="course")
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="course", order_by="Assignment.position"
    )


class Enrolment(db.Model):
    """A user's membership of a course, with their role in it."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id"),
        CheckConstraint(one_of("role", tuple(CourseRole)), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="student")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    course: Mapped[Course] = relationship(back_populates="enrolments")
    user: Mapped[User] = relationship(back_populates="enrolments")


class Assignment(db.Model):
    """An exercise set in a course, with when it is open and how attempts and scores count."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("course_id", "exercise_id"),
        CheckConstraint(one_of("score_policy", tuple(ScorePolicy)), name="score_policy"),
        CheckConstraint(one_of("feedback", tuple(FeedbackLevel)), name="feedback"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts"),
        CheckConstraint("free_attempts >= 0", name="free_attempts"),
        CheckConstraint("attempt_penalty >= 0 AND attempt_penalty <= 1", name="attempt_penalty"),
        CheckConstraint("late_penalty >= 0 AND late_penalty <= 1", name="late_penalty"),
        CheckConstraint("points IS NULL OR points > 0", name="points"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # All optional, in UTC: not before opens_at; after due_at the late penalty applies; after
    # closes_at nothing is accepted.
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_attempts: Mapped[int | None] = mapped_column(Integer)  # null: unlimited
    # Attempts after the first ``free_attempts`` each lose ``attempt_penalty`` (a fraction).
    free_attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    attempt_penalty: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    score_policy: Mapped[str] = mapped_column(String(20), default="best", server_default="best")
    feedback: Mapped[str] = mapped_column(String(20), default="full", server_default="full")
    points: Mapped[float | None] = mapped_column(Float)  # null: the exercise's max score
    late_penalty: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    course: Mapped[Course] = relationship(back_populates="assignments")
    exercise: Mapped[Exercise] = relationship()


class Submission(db.Model):
    """One graded (or queued) set of answers to one exercise version."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("api_token_id", "idempotency_key"),
        CheckConstraint(one_of("status", SUBMISSION_STATUSES), name="status"),
        CheckConstraint(one_of("source", tuple(Source)), name="source"),
        # One row per attempt number: two racing submissions cannot both be attempt n.
        UniqueConstraint("assignment_id", "user_id", "attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise_version_id: Mapped[int] = mapped_column(ForeignKey("exercise_versions.id"), index=True)
    # The course's assignment it was made for (null: made outside any course, e.g. offline).
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), index=True)
    attempt: Mapped[int | None] = mapped_column(Integer)  # 1, 2, ... within (assignment, user)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(10))
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set together on every change of grade or status (``services.results.record_parts``, by
    # ``services.changes.stamp_change``): the order in which changes committed, for incremental
    # sync (DESIGN section 8, "Changes in commit order"). 0 only before the first stamp, inside
    # the transaction that inserts the row.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", index=True)

    user: Mapped[User] = relationship(back_populates="submissions")
    version: Mapped[ExerciseVersion] = relationship()
    assignment: Mapped[Assignment | None] = relationship()


class SubmissionPart(db.Model):
    """One part's current result of a submission, a row per part so that statistics are SQL
    aggregates. The same results as ``Submission.parts`` (the result object reads that column);
    ``grader.services.results.record_parts`` writes both in one transaction."""

    __tablename__ = "submission_parts"
    __table_args__ = (
        UniqueConstraint("submission_id", "part_id"),
        CheckConstraint(one_of("status", PART_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    part_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    # null while the part is queued or waits for review
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    diagnosis: Mapped[str] = mapped_column(String(200), default="")
    feedback: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SubmissionGrade(db.Model):
    """A grade a submission had before it was replaced (by a regrade): the history of scores.

    Rows are only ever added; the submission row holds the current grade.
    """

    __tablename__ = "submission_grades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    exercise_version_id: Mapped[int] = mapped_column(ForeignKey("exercise_versions.id"))
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str] = mapped_column(String(200))

    submission: Mapped[Submission] = relationship()


class ChangeCounter(db.Model):
    """The one row that numbers changes of submissions (``services.changes``): ``value`` is
    the last change number handed out, ``at`` its time. Taking the next number locks the row
    until the transaction ends, so numbers (and times) follow the order of the commits."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


WEBHOOK_EVENT_STATES = ("pending", "delivered", "failed")


class Webhook(db.Model):
    """A URL of a course's LMS that receives a signed POST for every change of a submission's
    grade or status in the course (``services.webhooks``). The secret signs the bodies; it is
    shown once, when the hook is made."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    # The event types the hook receives (``services.webhooks.EVENT_TYPES``).
    events: Mapped[list[str]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))

    course: Mapped[Course] = relationship()


class WebhookEvent(db.Model):
    """One event for one hook, and its delivery: the outbox row written in the transaction of
    the grade change it reports, sent (and retried) from the queue. ``id`` is the event id
    receivers de-duplicate by; ``payload`` the exact body that is signed and sent."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint(one_of("state", WEBHOOK_EVENT_STATES), name="state"),
        UniqueConstraint("webhook_id", "change_seq"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the next attempt is due; while one is under way, the end of its lease.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    give_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    webhook: Mapped[Webhook] = relationship()
