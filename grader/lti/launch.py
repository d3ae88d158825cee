"""What a verified launch does: the LMS context, user, role and grade link it maps to."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader.extensions import db
from grader.lti import claims as C
from grader.lti.models import LtiContext, LtiGradeLink, LtiRegistration
from grader.lti.oidc import LaunchRefused, VerifiedLaunch
from grader.models import EXERCISE_OPEN, Assignment, Exercise, User
from grader.services.courses import (
    CourseNotFound,
    course_by_slug,
    create_course,
    enrol,
    ensure_assignment,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Launched:
    """The outcome of an accepted launch: who, in which role, and what to show."""

    user_id: int
    role: str  # the course role: instructor, ta or student
    exercise_slug: str | None  # None for a deep linking request
    course_id: int
    assignment_id: int | None


def _text(value: Any, limit: int) -> str:
    """Return ``value`` if it is a string, without NUL characters (PostgreSQL refuses them)
    and cut to ``limit``; else the empty string."""
    return value.replace("\x00", "")[:limit] if isinstance(value, str) else ""


def platform_user(issuer: str, subject: str) -> tuple[User, bool]:
    """Return the user the platform ``issuer`` knows as ``subject`` (``User.issuer`` and
    ``external_id``) and whether it was made now (flushed, not committed).

    Not ``services.users.lms_user``: that one commits, and limits ids to the characters API
    clients send, while LTI allows any ``sub`` of up to 255 characters (ours: 200).
    """
    if not subject or len(subject) > 200 or "\x00" in subject:
        raise LaunchRefused("The LMS sent a user id (sub) that is empty or over 200 characters.")
    query = select(User).where(User.issuer == issuer, User.external_id == subject)
    user = db.session.scalars(query).first()
    if user is None:
        user = User(issuer=issuer, external_id=subject, role="student")
        db.session.add(user)
        db.session.flush()
        return user, True
    return user, False


def course_slug(registration: LtiRegistration, context_id: str) -> str:
    """Return the slug of the course an LMS context becomes: ``lti-`` and a hash of it."""
    digest = hashlib.sha256(f"{registration.issuer}\n{context_id}".encode()).hexdigest()
    return f"lti-{digest[:16]}"


def _context(registration: LtiRegistration, claims: dict[str, Any]) -> LtiContext:
    context = claims.get(C.CONTEXT)
    if not isinstance(context, dict) or not isinstance(context.get("id"), str):
        raise LaunchRefused("The launch names no LMS course (its context claim is missing).")
    context_id = _text(context["id"], 255)
    title = _text(context.get("title") or context.get("label"), 300)
    row = db.session.scalars(
        select(LtiContext).where(
            LtiContext.registration_id == registration.id, LtiContext.context_id == context_id
        )
    ).first()
    if row is None:
        slug = course_slug(registration, context_id)
        try:
            course = course_by_slug(slug)
        except CourseNotFound:
            course = create_course(slug, title or f"LMS course {context_id}"[:300])
        row = LtiContext(registration_id=registration.id, context_id=context_id, course=course)
        db.session.add(row)
    if title and title != row.title:
        row.title = row.course.title = title
    nrps = claims.get(C.NRPS)
    if isinstance(nrps, dict) and isinstance(nrps.get("context_memberships_url"), str):
        row.memberships_url = _text(nrps["context_memberships_url"], 1000)
    db.session.flush()
    return row


def _exercise(claims: dict[str, Any]) -> Exercise:
    custom = claims.get(C.CUSTOM)
    slug = custom.get("exercise") if isinstance(custom, dict) else None
    if not isinstance(slug, str) or not slug.strip() or "\x00" in slug:
        raise LaunchRefused(
            "This LMS link names no exercise (its custom parameter exercise is missing). "
            "Ask your instructor to add the activity again through the tool's exercise picker."
        )
    exercise = db.session.scalars(select(Exercise).where(Exercise.slug == slug.strip())).first()
    if exercise is None or exercise.status not in EXERCISE_OPEN:
        raise LaunchRefused(f"The exercise {slug!r} of this LMS link does not exist or is closed.")
    return exercise


def _grade_link(
    registration: LtiRegistration, user: User, assignment: Assignment, claims: dict[str, Any]
) -> None:
    endpoint = claims.get(C.AGS_ENDPOINT)
    if not isinstance(endpoint, dict):
        return
    lineitem, scopes = endpoint.get("lineitem"), endpoint.get("scope") or []
    if not isinstance(lineitem, str) or C.SCOPE_SCORE not in scopes:
        return
    link = db.session.scalars(
        select(LtiGradeLink).where(
            LtiGradeLink.user_id == user.id,
            LtiGradeLink.assignment_id == assignment.id,
            LtiGradeLink.lineitem_url == _text(lineitem, 1000),
        )
    ).first()
    if link is None:
        db.session.add(
            LtiGradeLink(
                registration_id=registration.id,
                user_id=user.id,
                assignment_id=assignment.id,
                subject=_text(str(claims["sub"]), 255),
                lineitem_url=_text(lineitem, 1000),
            )
        )


def accept(launch: VerifiedLaunch) -> Launched:
    """Map a verified launch onto the tool: context, user, role and, for a resource link, the
    exercise and its grade link. Raises ``LaunchRefused`` (nothing stored). Commits."""
    claims = launch.claims
    roles = claims.get(C.ROLES) or []
    role = C.course_role(roles if isinstance(roles, list) else []) or "student"
    if launch.message_type == C.DEEP_LINKING_REQUEST:
        if role == "student":
            raise LaunchRefused("Only instructors choose the exercises of an LMS activity.")
        settings = claims.get(C.DL_SETTINGS)
        return_url = settings.get("deep_link_return_url") if isinstance(settings, dict) else None
        if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
            raise LaunchRefused("The deep linking request names no deep_link_return_url.")
        exercise = None
    else:
        exercise = _exercise(claims)
    for attempt in (1, 2):  # a first launch racing another one of the same user or course
        try:
            user, _ = platform_user(launch.registration.issuer, str(claims["sub"]))
            context = _context(launch.registration, claims)
            enrol(context.course, user, role)
            assignment = None
            if exercise is not None:
                assignment = ensure_assignment(context.course, exercise)
                _grade_link(launch.registration, user, assignment, claims)
            db.session.commit()
            break
        except IntegrityError as exc:
            db.session.rollback()
            if attempt == 2:
                raise LaunchRefused(
                    "The launch met another one at the same moment; launch again."
                ) from exc
        except Exception:
            db.session.rollback()
            raise
    log.info(
        "LTI launch accepted: %s user %s role %s exercise %s",
        launch.message_type,
        user.id,
        role,
        exercise.slug if exercise else None,
    )
    return Launched(
        user.id,
        role,
        exercise.slug if exercise else None,
        context.course_id,
        assignment.id if assignment else None,
    )
