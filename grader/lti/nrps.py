"""Names and Role Provisioning Service: pull the members of an LMS context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from grader.extensions import db
from grader.lti import claims as C
from grader.lti.launch import platform_user
from grader.lti.models import LtiContext
from grader.lti.oidc import LaunchRefused
from grader.lti.platform import PlatformError, call
from grader.services.courses import enrol

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 100
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class RosterError(Exception):
    """The roster cannot be pulled; the message says why."""


@dataclass
class Roster:
    """What a roster pull found: members enrolled by course role, and the users it made."""

    by_role: dict[str, int] = field(default_factory=dict)
    new_users: int = 0


def contexts() -> list[LtiContext]:
    """Return every LMS context the tool was launched from."""
    return list(db.session.scalars(select(LtiContext).order_by(LtiContext.id)))


def find_context(key: str) -> LtiContext | None:
    """Return the context whose row id or LMS context id is ``key``."""
    if key.isdigit():
        row = db.session.get(LtiContext, int(key))
        if row is not None:
            return row
    return db.session.scalars(select(LtiContext).where(LtiContext.context_id == key)).first()


def pull_roster(context: LtiContext) -> Roster:
    """Fetch every active member of ``context`` from the platform, make their users and enrol
    them in the context's course with their role. Commits.

    Raises ``RosterError`` when the context has no service URL or the platform fails.
    """
    if not context.memberships_url:
        raise RosterError(
            "No launch from this LMS course carried the Names and Role Provisioning Service; "
            "enable it for the tool on the platform, then launch once."
        )
    roster, pages = Roster(), 0
    url: str | None = context.memberships_url
    issuer = context.registration.issuer
    while url and pages < MAX_PAGES:
        try:
            reply = call(context.registration, C.SCOPE_NRPS, "GET", url, accept=MEMBERSHIP_TYPE)
            answer = reply.json()
        except PlatformError as exc:
            db.session.rollback()
            raise RosterError(f"The platform's roster could not be read: {exc}") from exc
        members = answer.get("members") if isinstance(answer, dict) else None
        for member in members if isinstance(members, list) else []:
            if not isinstance(member, dict) or not isinstance(member.get("user_id"), str):
                continue
            if member.get("status", "Active") != "Active":
                continue
            try:
                user, made = platform_user(issuer, member["user_id"])
            except LaunchRefused:  # a user id over 200 characters: not a user here
                continue
            roster.new_users += made
            role = C.course_role(member.get("roles") or []) or "student"
            enrol(context.course, user, role)
            roster.by_role[role] = roster.by_role.get(role, 0) + 1
        match = NEXT_LINK.search(reply.headers.get("Link", "") or reply.headers.get("link", ""))
        url, pages = (match.group(1) if match else None), pages + 1
    db.session.commit()
    return roster
