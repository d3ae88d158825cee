"""Courses: the unit a school adopts (DESIGN section 8). Enrolments and assignments.

Every submission made in a course belongs to one of its assignments. The course ``default``
holds what existed before courses (migration 0006) and every exercise imported since, so the
routes that name no course keep working for a token bound to it.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from grader.extensions import db
from grader.models import Assignment, Course, CourseRole, Enrolment, Exercise, Submission, User

DEFAULT_COURSE = "default"
COURSE_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}\Z"


class CourseError(ValueError):
    """Raised for a course, enrolment or assignment that cannot be made as asked."""


class CourseNotFound(LookupError):
    """Raised when no course has the slug asked for."""


def default_course() -> Course:
    """Return the course ``default``, creating it if a database has none (it always has after
    migration 0006, unless someone deleted it)."""
    course = db.session.scalar(select(Course).where(Course.slug == DEFAULT_COURSE))
    if course is None:
        course = create_course(DEFAULT_COURSE, "Default course")
    return course


def course_by_slug(slug: str) -> Course:
    """Return the course with ``slug``; raise ``CourseNotFound``."""
    course = None
    if isinstance(slug, str) and re.match(COURSE_SLUG_PATTERN, slug):
        course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise CourseNotFound(slug)
    return course


def create_course(slug: str, title: str, term: str | None = None, time_zone: str = "UTC") -> Course:
    """Create a course (flushed, not committed); raise ``CourseError`` for a bad or taken slug,
    an empty title or an unknown time zone."""
    if not isinstance(slug, str) or not re.match(COURSE_SLUG_PATTERN, slug):
        raise CourseError(
            "a course slug is 1 to 100 lowercase letters, digits and hyphens, starting with a "
            "letter or digit"
        )
    if not title or len(title) > 300:
        raise CourseError("a course needs a title of 1 to 300 characters")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CourseError(f"unknown time zone {time_zone!r}; use an IANA name") from None
    if db.session.scalar(select(Course.id).where(Course.slug == slug)) is not None:
        raise CourseError(f"a course with the slug {slug!r} exists already")
    course = Course(slug=slug, title=title, term=term or None, time_zone=time_zone)
    db.session.add(course)
    db.session.flush()
    return course


def enrol(course: Course, user: User, role: str = CourseRole.STUDENT) -> Enrolment:
    """Enrol ``user`` in ``course`` with ``role``, or change the role of an enrolment that
    exists (flushed, not committed). Raises ``CourseError`` for an unknown role."""
    if role not in tuple(CourseRole):
        raise CourseError(f"role must be one of {', '.join(CourseRole)}")
    enrolment = enrolment_of(course, user)
    if enrolment is None:
        enrolment = Enrolment(course_id=course.id, user_id=user.id, role=str(role))
        db.session.add(enrolment)
    else:
        enrolment.role = str(role)
    db.session.flush()
    return enrolment


def enrol_committed(course: Course, user: User, role: str = CourseRole.STUDENT) -> Enrolment:
    """``enrol`` and commit; an enrolment made at the same moment by another request wins."""
    try:
        enrolment = enrol(course, user, role)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        found = enrolment_of(course, user)
        if found is None:
            raise
        return found
    return enrolment


def enrolment_of(course: Course, user: User) -> Enrolment | None:
    """Return ``user``'s enrolment in ``course``, or None."""
    return db.session.scalar(
        select(Enrolment).where(Enrolment.course_id == course.id, Enrolment.user_id == user.id)
    )


def assignment_for(course: Course, exercise_slug: str) -> Assignment | None:
    """Return the assignment of the exercise ``exercise_slug`` in ``course``, or None."""
    return db.session.scalar(
        select(Assignment)
        .join(Exercise, Exercise.id == Assignment.exercise_id)
        .where(Assignment.course_id == course.id, Exercise.slug == exercise_slug)
    )


def ensure_assignment(course: Course, exercise: Exercise) -> Assignment:
    """Return the assignment of ``exercise`` in ``course``, adding it (last, with the default
    policy: no dates, no limit, full feedback) if there is none. Flushed, not committed."""
    found = db.session.scalar(
        select(Assignment).where(
            Assignment.course_id == course.id, Assignment.exercise_id == exercise.id
        )
    )
    if found is not None:
        return found
    last = db.session.scalar(
        select(func.max(Assignment.position)).where(Assignment.course_id == course.id)
    )
    assignment = Assignment(
        course_id=course.id, exercise_id=exercise.id, position=0 if last is None else last + 1
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def next_attempt(assignment: Assignment, user: User) -> int:
    """Return the number the next submission of ``user`` to ``assignment`` gets (1, 2, ...).

    Two requests racing may compute the same number; the unique (assignment, user, attempt)
    index lets one of them store it, and the other tries again (``grading.submit``)."""
    last = db.session.scalar(LAST_ATTEMPT, {"assignment": assignment.id, "user": user.id})
    return 1 if last is None else last + 1


# Read by every submission made in a course, built once; values go in as bound parameters.
LAST_ATTEMPT = select(func.max(Submission.attempt)).where(
    Submission.assignment_id == bindparam("assignment"), Submission.user_id == bindparam("user")
)


def open_course(
    creator: User, slug: str, title: str, term: str | None = None, time_zone: str = "UTC"
) -> Course:
    """Create a course with ``creator`` enrolled as its instructor; commit. Raises
    ``CourseError`` as ``create_course`` does (nothing is stored then)."""
    try:
        course = create_course(slug, title, term, time_zone)
        enrol(course, creator, CourseRole.INSTRUCTOR)
        db.session.commit()
    except IntegrityError:  # the same slug created at the same moment
        db.session.rollback()
        raise CourseError(f"a course with the slug {slug!r} exists already") from None
    except CourseError:
        db.session.rollback()
        raise
    return course
