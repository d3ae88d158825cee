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
    """A person: signs in with a password, or is known to an LMS by its external id."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="student")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    # Part of every session cookie's user id; raised to end every session of the user (signing
    # out, a new password), so a copied cookie stops working on the server too.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submissions: Mapped[list[Submission]] = relationship(back_populates="user")

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
    """A bearer token for the REST API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def scope_set(self) -> frozenset[str]:
        """Return the token's scopes as a set."""
        return frozenset(self.scopes.split())


class Submission(db.Model):
    """One graded (or queued) set of answers to one exercise version."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("api_token_id", "idempotency_key"),
        CheckConstraint(one_of("status", SUBMISSION_STATUSES), name="status"),
        CheckConstraint(one_of("source", tuple(Source)), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise_version_id: Mapped[int] = mapped_column(ForeignKey("exercise_versions.id"), index=True)
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
