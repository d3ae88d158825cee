"""What a verified launch does: the LMS context, user, role and grade link it maps to."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from grader.extensions import db
from grader.lti import claims as C
from grader.lti.models import LtiContext, LtiGradeLink, LtiRegistration
from grader.lti.oidc import LaunchRefused, VerifiedLaunch
from grader.models import EXERCISE_OPEN, Exercise, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Launched:
    """The outcome of an accepted launch: who, in which role, and what to show."""

    user_id: int
    role: str  # the course role: instructor, ta or student
    exercise_slug: str | None  # None for a deep linking request
    context_id: int | None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def platform_user(issuer: str, subject: str) -> tuple[User, bool]:
    """Return the user the platform knows as ``subject`` and whether it was made now (not
    committed).

    Until the course model's ``User.issuer`` lands, the identity is kept in ``external_id``
    as ``<issuer>#<subject>``.
    """
    external_id = f"{issuer}#{subject}"[:200]
    user = db.session.scalars(select(User).where(User.external_id == external_id)).first()
    if user is None:
        user = User(external_id=external_id, role="student")
        db.session.add(user)
        db.session.flush()
        return user, True
    return user, False


def _context(registration: LtiRegistration, claims: dict[str, Any]) -> LtiContext | None:
    context = claims.get(C.CONTEXT)
    if not isinstance(context, dict) or not isinstance(context.get("id"), str):
        return None
    row = db.session.scalars(
        select(LtiContext).where(
            LtiContext.registration_id == registration.id,
            LtiContext.context_id == context["id"][:255],
        )
    ).first()
    if row is None:
        row = LtiContext(registration_id=registration.id, context_id=context["id"][:255])
        db.session.add(row)
    row.title = _text(context.get("title") or context.get("label"), 300) or row.title or ""
    nrps = claims.get(C.NRPS)
    if isinstance(nrps, dict) and isinstance(nrps.get("context_memberships_url"), str):
        row.memberships_url = nrps["context_memberships_url"][:1000]
    db.session.flush()
    return row


def _exercise(claims: dict[str, Any]) -> Exercise:
    custom = claims.get(C.CUSTOM)
    slug = custom.get("exercise") if isinstance(custom, dict) else None
    if not isinstance(slug, str) or not slug.strip():
        raise LaunchRefused(
            "This LMS link names no exercise (its custom parameter exercise is missing). "
            "Ask your instructor to add the activity again through the tool's exercise picker."
        )
    exercise = db.session.scalars(select(Exercise).where(Exercise.slug == slug.strip())).first()
    if exercise is None or exercise.status not in EXERCISE_OPEN:
        raise LaunchRefused(f"The exercise {slug!r} of this LMS link does not exist or is closed.")
    return exercise


def _grade_link(
    registration: LtiRegistration, user: User, exercise: Exercise, claims: dict[str, Any]
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
            LtiGradeLink.exercise_id == exercise.id,
            LtiGradeLink.lineitem_url == lineitem[:1000],
        )
    ).first()
    if link is None:
        db.session.add(
            LtiGradeLink(
                registration_id=registration.id,
                user_id=user.id,
                exercise_id=exercise.id,
                subject=str(claims["sub"])[:255],
                lineitem_url=lineitem[:1000],
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
        if not isinstance(claims.get(C.DL_SETTINGS), dict):
            raise LaunchRefused("The deep linking request has no deep_linking_settings.")
        exercise = None
    else:
        exercise = _exercise(claims)
    try:
        user, _ = platform_user(launch.registration.issuer, str(claims["sub"]))
        context = _context(launch.registration, claims)
        if exercise is not None:
            _grade_link(launch.registration, user, exercise, claims)
        db.session.commit()
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
    return Launched(user.id, role, exercise.slug if exercise else None, context and context.id)
