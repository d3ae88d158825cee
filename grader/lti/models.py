"""The LTI 1.3 tables (DESIGN section 11): platforms, deployments, the tool's keys, launch
states, the grade links a launch leaves and the passbacks sent through them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.extensions import db
from grader.models import Course, one_of, utcnow

# superseded: a newer score for the same line item was made before this one was sent.
PASSBACK_STATES = ("pending", "sent", "failed", "superseded")


class LtiKey(db.Model):
    """One of the tool's RSA keys. The newest unretired one signs; a retired key is still
    published in the JWKS until ``retired_at`` plus the grace period (``keys.GRACE``)."""

    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LtiRegistration(db.Model):
    """A platform (issuer) and the client id it gave the tool, with the platform's URLs."""

    __tablename__ = "lti_registrations"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    login_url: Mapped[str] = mapped_column(String(1000))
    token_url: Mapped[str] = mapped_column(String(1000))
    jwks_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", order_by="LtiDeployment.id"
    )


class LtiDeployment(db.Model):
    """A deployment id of a registration: launches naming another one are refused."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE")
    )
    deployment_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    registration: Mapped[LtiRegistration] = relationship(back_populates="deployments")


class LtiLaunchState(db.Model):
    """The ``state`` and ``nonce`` of one OIDC login, used by at most one launch."""

    __tablename__ = "lti_launch_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LtiContext(db.Model):
    """An LMS context (a course on the platform) the tool has been launched from, and the
    course it became here (made at its first launch)."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("registration_id", "context_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE")
    )
    context_id: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    # The Names and Role Provisioning Service URL of the last launch that carried one.
    memberships_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    registration: Mapped[LtiRegistration] = relationship()
    course: Mapped[Course] = relationship()


class LtiGradeLink(db.Model):
    """Where a student's grade on an assignment goes: the AGS line item of a launch."""

    __tablename__ = "lti_grade_links"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id", "lineitem_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    subject: Mapped[str] = mapped_column(String(255))  # the platform's ``sub`` of the user
    lineitem_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    registration: Mapped[LtiRegistration] = relationship()


class LtiPassback(db.Model):
    """One score sent (or to send) to a line item; its state is what the instructor sees."""

    __tablename__ = "lti_passbacks"
    __table_args__ = (CheckConstraint(one_of("state", PASSBACK_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grade_link_id: Mapped[int] = mapped_column(
        ForeignKey("lti_grade_links.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    grading_progress: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    grade_link: Mapped[LtiGradeLink] = relationship()
