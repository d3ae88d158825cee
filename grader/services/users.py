"""Users and API tokens: creating them, and finding them from credentials."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from grader.extensions import db
from grader.models import ROLES, ApiToken, Course, CourseRole, Enrolment, User, utcnow
from grader.services.courses import default_course, enrol, enrol_committed
from grader.services.scores import as_utc

SCOPES = ("submit", "read:scores", "admin")
DEFAULT_SCOPES = ("submit", "read:scores")
TOKEN_PREFIX = "bpg_"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_EXTERNAL_ID = re.compile(r"^[\w.@:+-]{1,200}$")


class UserError(ValueError):
    """Raised for a user that cannot be created as asked (the message says why)."""


def create_user(email: str, role: str, password: str | None = None) -> User:
    """Create a user with a hashed password, enrolled in the course ``default`` (instructors
    and admins as instructors, like migration 0006); raise ``UserError`` for bad or duplicate
    input."""
    if not _EMAIL.match(email or ""):
        raise UserError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if password is not None and len(password) < 8:
        raise UserError("a password needs at least 8 characters")
    user = User(
        email=email.lower(),
        role=role,
        password_hash=generate_password_hash(password) if password else None,
    )
    db.session.add(user)
    try:
        db.session.flush()
        course_role = CourseRole.STUDENT if role == "student" else CourseRole.INSTRUCTOR
        enrol(default_course(), user, course_role)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise UserError(f"a user with the email {email!r} exists already") from None
    return user


MAX_CREDENTIAL_CHARS = 1024
# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def authenticate(email: str, password: str) -> User | None:
    """Return the user with this email and password, or None, in about the same time either
    way (a hash is checked even for an unknown email, so timing does not reveal accounts)."""
    email, password = email or "", password or ""
    if len(email) > MAX_CREDENTIAL_CHARS or len(password) > MAX_CREDENTIAL_CHARS:
        return None
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    matches = check_password_hash(stored, password)
    return user if matches and stored is not _DUMMY_HASH else None


def end_sessions(user: User) -> int:
    """End every session of ``user``, on every device: raise the session version that each
    session cookie names (``grader.web.auth``), so no cookie issued before is accepted again.
    Commits; returns the new version."""
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(user)
    return user.session_version


def change_password(user: User, current: str, new: str) -> None:
    """Give ``user`` the password ``new`` and end all their sessions (``end_sessions``).

    Raises ``UserError`` when ``current`` is not their password or ``new`` is too short or
    too long."""
    current, new = current or "", new or ""
    if not user.password_hash or authenticate(user.email or "", current) is None:
        raise UserError("the current password is not right")
    if not 8 <= len(new) <= MAX_CREDENTIAL_CHARS:
        raise UserError(f"a password needs 8 to {MAX_CREDENTIAL_CHARS} characters")
    user.password_hash = generate_password_hash(new)
    end_sessions(user)  # commits the new hash with the new version


DEFAULT_ISSUER = "api:default"


def lms_user(external_id: str, issuer: str = DEFAULT_ISSUER) -> User:
    """Return the student known to the identity provider ``issuer`` (an API token's issuer,
    an LTI platform) by ``external_id``, creating it on first use. The same external id from
    another issuer is another person.

    Raises ``UserError`` for an id that is empty, too long or has odd characters.
    """
    _check_external_id(external_id)
    query = select(User).where(User.issuer == issuer, User.external_id == external_id)
    user = db.session.scalar(query)
    if user is None:
        user = User(issuer=issuer, external_id=external_id, role="student")
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:  # created concurrently by another request
            db.session.rollback()
            user = db.session.scalar(query)
            if user is None:
                raise
    return user


def course_student(course: Course, external_id: str, issuer: str = DEFAULT_ISSUER) -> User:
    """Return the student ``lms_user`` names, enrolled in ``course``: created and enrolled on
    first use. A known, enrolled student takes one query. Raises ``UserError`` as ``lms_user``."""
    _check_external_id(external_id)
    row = db.session.execute(
        STUDENT_IN_COURSE, {"course": course.id, "issuer": issuer, "external_id": external_id}
    ).first()
    if row is not None and row[1] is not None:
        return row[0]
    user = lms_user(external_id, issuer) if row is None else row[0]
    enrol_committed(course, user, CourseRole.STUDENT)
    return user


def _check_external_id(external_id: object) -> None:
    if not isinstance(external_id, str) or not _EXTERNAL_ID.match(external_id):
        raise UserError("user must be the LMS user id: 1 to 200 letters, digits or . _ @ : + -")


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    name: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    course: Course | None = None,
    *,
    all_courses: bool = False,
    issuer: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token; return the row and the token text (shown once, never stored).

    The token reaches ``course`` only (default: the course ``default``); ``all_courses`` (with
    the ``admin`` scope only) makes it reach every course. ``issuer`` names the identity
    provider of the users it sends (default ``api:<course slug>``, or ``api:*`` for every
    course): give a new token of the same LMS the old one's issuer so its users stay the same.
    """
    if not name or len(name) > 200:
        raise UserError("a token needs a name of 1 to 200 characters")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise UserError(f"unknown scope {unknown[0]!r}; scopes: {', '.join(SCOPES)}")
    if all_courses and course is not None:
        raise UserError("a token is for one course, or (an admin token) for all courses")
    if all_courses and "admin" not in scopes:
        raise UserError("only a token with the admin scope may reach every course")
    if issuer is not None and not 1 <= len(issuer) <= 300:
        raise UserError("an issuer has 1 to 300 characters")
    if expires_at is not None and expires_at.tzinfo is None:
        raise UserError("the expiry time needs a time zone (an offset or Z)")
    if expires_at is not None and expires_at <= utcnow():
        raise UserError("the expiry time is in the past")
    if course is None and not all_courses:
        course = default_course()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=hash_token(token),
        scopes=" ".join(sorted(set(scopes))),
        course_id=course.id if course is not None else None,
        issuer=issuer or f"api:{course.slug if course is not None else '*'}",
        expires_at=expires_at,
    )
    db.session.add(row)
    db.session.commit()
    return row, token


# Statements of every API request, built once (their construction is a share of the request;
# SQLAlchemy caches what they compile to either way): values go in as bound parameters.
TOKEN_BY_HASH = (
    select(ApiToken)
    .options(joinedload(ApiToken.course))  # the course a request acts in, in the same query
    .where(ApiToken.token_hash == bindparam("digest"))
)
STUDENT_IN_COURSE = (
    select(User, Enrolment.id)
    .outerjoin(
        Enrolment,
        (Enrolment.user_id == User.id) & (Enrolment.course_id == bindparam("course")),
    )
    .where(User.issuer == bindparam("issuer"), User.external_id == bindparam("external_id"))
)


def token_from_secret(token: str) -> ApiToken | None:
    """Return the live (not revoked) token row for ``token``, or None; records its last use.

    The lookup is by hash, on every call: a token revoked by any process is refused on the
    next request. The final comparison is in constant time.
    """
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    row = db.session.scalar(TOKEN_BY_HASH, {"digest": digest})
    if row is None or row.revoked_at is not None or expired(row):
        return None
    if not hmac.compare_digest(row.token_hash, digest):
        return None
    now = utcnow()
    last = row.last_used_at
    if last is None or (
        now - (last if last.tzinfo else last.replace(tzinfo=now.tzinfo))
    ) > timedelta(seconds=60):
        row.last_used_at = now  # at most once a minute: no write per request under load
        db.session.commit()
    return row


def expired(row: ApiToken) -> bool:
    """Return True when the token ``row`` has an expiry time and it has passed."""
    return row.expires_at is not None and as_utc(row.expires_at) <= utcnow()


def revoke_token(token_id: int) -> ApiToken:
    """Revoke a token by id; raise ``UserError`` if there is none."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise UserError(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row


def is_email(text: str) -> bool:
    """Return True for text that ``create_user`` accepts as an email address."""
    return isinstance(text, str) and bool(_EMAIL.match(text))


def is_external_id(text: str) -> bool:
    """Return True for text that ``lms_user`` accepts as a user id of an identity provider."""
    return isinstance(text, str) and bool(_EXTERNAL_ID.match(text))
