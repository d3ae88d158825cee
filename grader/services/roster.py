"""Course rosters: enrolling users from a CSV file (the instructor's upload and ``grader courses
enrol --csv``), all or nothing.

The file has the columns ``email[,role][,external_id,issuer]``, with or without a header row
(a header names its columns, in any order; without one they are read in that order). ``role``
is student, ta or instructor (empty: the default role given); ``external_id`` is the user's id
at an identity provider, ``issuer`` that provider (empty: ``api:<course slug>``, the issuer of
the course's API tokens, so an LMS sending that id reaches the same person). Every bad row is
reported with its line number, and nothing is written while any row is bad.

A user not known yet is created without a password: they come in through the LMS, or an admin
gives them one. A user enrolled as TA or instructor who is a student on the site becomes an
instructor on the site, so that the instructor pages let them in (what they see there is
limited to their courses).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader.extensions import db
from grader.models import Course, CourseRole, Enrolment, User
from grader.services.courses import CourseError
from grader.services.users import is_email, is_external_id

COLUMNS = ("email", "role", "external_id", "issuer")
MAX_ROWS = 5000
MAX_ISSUER_CHARS = 300
BATCH = 500


@dataclass(frozen=True)
class RosterLine:
    """One row of a roster: the line it ends on, and who is enrolled with which role."""

    line: int
    email: str
    role: str
    external_id: str | None = None
    issuer: str | None = None


@dataclass(frozen=True)
class RosterProblem:
    """Why one line of a roster cannot be used (line 0: the whole file)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class RosterError(CourseError):
    """Raised when a roster has bad rows; ``problems`` lists every one. Nothing was written."""

    def __init__(self, problems: list[RosterProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class RosterReport:
    """What an enrolment did: users created, enrolments added, roles changed, rows unchanged."""

    created_users: int
    enrolled: int
    role_changed: int
    unchanged: int


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterError(
            [RosterProblem(line, "the file is not UTF-8 text; save it as CSV UTF-8")]
        ) from None


def _header(row: list[str]) -> list[str] | None:
    """Return the columns a header row names, or None when the first row is data."""
    names = [cell.strip().lower() for cell in row]
    return names if names and names[0] == "email" or "email" in names[1:] else None


def _check_row(
    line: int, cells: dict[str, str], default_role: str, default_issuer: str
) -> RosterLine | str:
    """Return the roster line ``cells`` make, or the message saying what is wrong."""
    if any(ch < " " for value in cells.values() for ch in value):
        return "a cell holds a control character"
    email = cells.get("email", "").strip().lower()
    if not is_email(email) or len(email) > 320:
        return f"{email!r} is not an email address" if email else "the email is missing"
    role = cells.get("role", "").strip().lower() or default_role
    if role not in tuple(CourseRole):
        return f"role {role!r} is not one of {', '.join(CourseRole)}"
    external_id = cells.get("external_id", "").strip() or None
    issuer = cells.get("issuer", "").strip() or None
    if external_id is None and issuer is not None:
        return "an issuer needs an external_id"
    if external_id is not None and not is_external_id(external_id):
        return "the external_id must be 1 to 200 letters, digits or . _ @ : + -"
    if issuer is not None and len(issuer) > MAX_ISSUER_CHARS:
        return f"the issuer is longer than {MAX_ISSUER_CHARS} characters"
    if external_id is not None and issuer is None:
        issuer = default_issuer
    return RosterLine(line, email, role, external_id, issuer)


class _Seen:
    """The rows read so far, to report an email or an external id that repeats a line."""

    def __init__(self) -> None:
        self.emails: dict[str, int] = {}
        self.ids: dict[tuple[str | None, str], int] = {}

    def repeated(self, row: RosterLine) -> str | None:
        """Return why ``row`` repeats an earlier line, or None (then remember it)."""
        key = (row.issuer, row.external_id or "")
        if row.email in self.emails:
            return f"{row.email} is on line {self.emails[row.email]} too"
        if row.external_id and key in self.ids:
            return f"external_id {row.external_id} is on line {self.ids[key]} too"
        self.emails[row.email] = row.line
        if row.external_id:
            self.ids[key] = row.line
        return None


def _read_line(
    line: int, row: list[str], columns: list[str], default_role: str, default_issuer: str
) -> RosterLine | str:
    """Return the roster line the CSV ``row`` makes, or the message saying what is wrong."""
    if len(row) > len(columns):
        return f"{len(row)} cells; the columns are {', '.join(columns)}"
    return _check_row(line, dict(zip(columns, row, strict=False)), default_role, default_issuer)


def _check_header(header: list[str]) -> str | None:
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or len(set(header)) != len(header):
        detail = f"unknown column {unknown[0]!r}" if unknown else "a repeated column"
        return f"{detail}; columns: {', '.join(COLUMNS)}"
    return None


def read_roster(
    data: bytes | str, default_role: str = CourseRole.STUDENT, default_issuer: str = "api:default"
) -> list[RosterLine]:
    """Return the rows of the roster CSV ``data``; raise ``RosterError`` listing every bad row
    (blank rows are skipped)."""
    if default_role not in tuple(CourseRole):
        raise CourseError(f"role must be one of {', '.join(CourseRole)}")
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    columns: list[str] = list(COLUMNS)
    lines: list[RosterLine] = []
    problems: list[RosterProblem] = []
    seen = _Seen()
    try:
        for index, row in enumerate(reader):
            line = reader.line_num
            if index == 0 and (header := _header(row)) is not None:
                columns = header
                if (message := _check_header(header)) is not None:
                    problems.append(RosterProblem(line, message))
                    break
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(lines) + len(problems) >= MAX_ROWS:
                problems.append(RosterProblem(line, f"more than {MAX_ROWS} rows"))
                break
            checked = _read_line(line, row, columns, default_role, default_issuer)
            if isinstance(checked, RosterLine) and (repeated := seen.repeated(checked)):
                checked = repeated
            if isinstance(checked, str):
                problems.append(RosterProblem(line, checked))
            else:
                lines.append(checked)
    except csv.Error as exc:
        problems.append(RosterProblem(reader.line_num, f"not readable as CSV: {exc}"))
    if problems:
        raise RosterError(problems)
    if not lines:
        raise RosterError([RosterProblem(0, "the roster has no rows")])
    return lines


def _users_by_email(emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for start in range(0, len(emails), BATCH):
        chunk = emails[start : start + BATCH]
        for user in db.session.scalars(select(User).where(User.email.in_(chunk))):
            found[user.email or ""] = user
    return found


def _users_by_identity(lines: list[RosterLine]) -> dict[tuple[str | None, str], User]:
    ids = sorted({line.external_id for line in lines if line.external_id})
    found: dict[tuple[str | None, str], User] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        for user in db.session.scalars(select(User).where(User.external_id.in_(chunk))):
            found[(user.issuer, user.external_id or "")] = user
    return found


def _resolve(line: RosterLine, by_email: User | None, by_id: User | None) -> User | str | None:
    """Return the existing user ``line`` names, None for a new one, or a message."""
    if by_email is not None and by_id is not None and by_email.id != by_id.id:
        return f"{line.email} and external_id {line.external_id} are two different users already"
    user = by_email or by_id
    if user is None:
        return None
    if line.external_id and user.external_id and user is by_email and by_id is None:
        return (
            f"{line.email} is known with another external_id ({user.external_id} of {user.issuer})"
        )
    if by_id is not None and by_id.email and by_id.email != line.email:
        return f"external_id {line.external_id} belongs to {by_id.email}"
    return user


def enrol_roster(
    course: Course, lines: Iterable[RosterLine], actor: User | None = None
) -> RosterReport:
    """Enrol every roster line in ``course`` (creating users as needed) and commit; all or
    nothing. ``actor`` (who uploads) may not change their own role. Raises ``RosterError``
    listing every line that conflicts with the users stored (nothing is written then)."""
    lines = list(lines)
    by_email = _users_by_email([line.email for line in lines])
    by_id = _users_by_identity(lines)
    enrolments = {
        e.user_id: e
        for e in db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id))
    }
    problems: list[RosterProblem] = []
    resolved: list[tuple[RosterLine, User | None]] = []
    for line in lines:
        user = _resolve(
            line,
            by_email.get(line.email),
            by_id.get((line.issuer, line.external_id)) if line.external_id else None,
        )
        if isinstance(user, str):
            problems.append(RosterProblem(line.line, user))
            continue
        if actor is not None and user is not None and user.id == actor.id:
            current = enrolments.get(user.id)
            if current is not None and current.role != line.role:
                problems.append(RosterProblem(line.line, "you cannot change your own role"))
                continue
        resolved.append((line, user))
    if problems:
        raise RosterError(problems)
    try:
        report = _write(course, resolved, enrolments)
        db.session.commit()
    except IntegrityError:  # someone enrolled or created the same user meanwhile
        db.session.rollback()
        raise RosterError(
            [RosterProblem(0, "the users changed while enrolling; nothing was written, try again")]
        ) from None
    return report


def _write(
    course: Course, resolved: list[tuple[RosterLine, User | None]], enrolments: dict[int, Enrolment]
) -> RosterReport:
    """Create the new users and enrol every line (flushed, not committed)."""
    created = enrolled = changed = unchanged = 0
    for line, found in resolved:
        user = found or User(email=line.email, role="student")
        if found is None:
            db.session.add(user)
            created += 1
        if line.external_id and not user.external_id:
            user.issuer, user.external_id = line.issuer, line.external_id
        user.email = user.email or line.email
        db.session.flush()
        enrolment = enrolments.get(user.id)
        if enrolment is None:
            enrolments[user.id] = Enrolment(course_id=course.id, user_id=user.id, role=line.role)
            db.session.add(enrolments[user.id])
            enrolled += 1
        elif enrolment.role != line.role:
            enrolment.role = line.role
            changed += 1
        else:
            unchanged += 1
    db.session.flush()
    return RosterReport(created, enrolled, changed, unchanged)


def enrol_csv(
    course: Course,
    data: bytes | str,
    default_role: str = CourseRole.STUDENT,
    actor: User | None = None,
) -> RosterReport:
    """Read the roster CSV ``data`` and enrol it in ``course`` (``read_roster`` then
    ``enrol_roster``); raise ``RosterError`` listing every bad row, having written nothing."""
    return enrol_roster(course, read_roster(data, default_role, f"api:{course.slug}"), actor)
