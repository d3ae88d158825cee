"""Who reaches which course (DESIGN section 8): web users through their enrolments, API tokens
through ``ApiToken.course_id``.

Every refusal is ``NoAccess``, which the web and the API answer with 404, never 403: a course,
a submission or a user outside one's reach is indistinguishable from one that does not exist.
A site admin (``users.role == "admin"``) reaches every course; a site instructor reaches only
the courses where they are enrolled as instructor or TA.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, or_, select

from grader.extensions import db
from grader.models import (
    ApiToken,
    Assignment,
    Course,
    CourseRole,
    Enrolment,
    Exercise,
    Submission,
    User,
)
from grader.services.courses import DEFAULT_COURSE, CourseNotFound, course_by_slug, default_course

STAFF_ROLES = (CourseRole.INSTRUCTOR, CourseRole.TA)
SITE_ADMIN = "admin"


class NoAccess(LookupError):
    """Raised when a user or token may not reach what it asked for; answer 404."""


def is_site_admin(user: User) -> bool:
    """Return True for a user whose site role is ``admin`` (every course, every role)."""
    return user.role == SITE_ADMIN


def courses_of(user: User, roles: Iterable[str] | None = None) -> list[Course]:
    """Return the courses ``user`` is enrolled in with one of ``roles`` (None: any role),
    ordered by slug with ``default`` last (it holds what predates courses; a course a student
    was enrolled in is where they work). A site admin gets every course."""
    query = select(Course)
    if not is_site_admin(user):
        enrolled = select(Enrolment.course_id).where(Enrolment.user_id == user.id)
        if roles is not None:
            enrolled = enrolled.where(Enrolment.role.in_([str(r) for r in roles]))
        query = query.where(Course.id.in_(enrolled))
    courses = list(db.session.scalars(query.order_by(Course.slug)))
    return sorted(courses, key=lambda c: c.slug == DEFAULT_COURSE)


def manages_a_course(user: User) -> bool:
    """Return True when ``user`` is an instructor or TA of some course, or a site admin."""
    if is_site_admin(user):
        return True
    staff = select(Enrolment.id).where(
        Enrolment.user_id == user.id, Enrolment.role.in_([str(r) for r in STAFF_ROLES])
    )
    return bool(db.session.scalar(select(staff.exists())))


def managed_courses(user: User) -> list[Course]:
    """Return the courses ``user`` manages: enrolled as instructor or TA (every course for a
    site admin)."""
    return courses_of(user, STAFF_ROLES)


def role_in(user: User, course: Course) -> str | None:
    """Return ``user``'s role in ``course`` (``instructor`` for a site admin who is not
    enrolled), or None when they are not enrolled."""
    role = db.session.scalar(
        select(Enrolment.role).where(Enrolment.course_id == course.id, Enrolment.user_id == user.id)
    )
    if role is None and is_site_admin(user):
        return str(CourseRole.INSTRUCTOR)
    return role


def can_manage(user: User, course: Course) -> bool:
    """Return True when ``user`` may see and manage ``course``'s roster, assignments,
    submissions and gradebook: an instructor or TA there, or a site admin."""
    return role_in(user, course) in STAFF_ROLES


def require_enrolment(user: User, course: Course, roles: Iterable[str] | None = None) -> str:
    """Return ``user``'s role in ``course``; raise ``NoAccess`` unless they are enrolled with
    one of ``roles`` (None: any role). A site admin passes as an instructor."""
    role = role_in(user, course)
    if role is None or (roles is not None and role not in {str(r) for r in roles}):
        raise NoAccess(course.slug)
    return role


def require_manager(user: User, course: Course) -> None:
    """Raise ``NoAccess`` unless ``user`` may manage ``course`` (``can_manage``)."""
    if not can_manage(user, course):
        raise NoAccess(course.slug)


def managed_course_or_404(user: User, slug: str) -> Course:
    """Return the course ``slug`` if ``user`` manages it; raise ``NoAccess`` when there is no
    such course or it is not theirs (the same answer, so nothing is revealed)."""
    try:
        course = course_by_slug(slug)
    except CourseNotFound:
        raise NoAccess(slug) from None
    require_manager(user, course)
    return course


def enrolled_course_or_404(user: User, slug: str) -> Course:
    """Return the course ``slug`` if ``user`` is enrolled in it (any role); else ``NoAccess``."""
    try:
        course = course_by_slug(slug)
    except CourseNotFound:
        raise NoAccess(slug) from None
    require_enrolment(user, course)
    return course


def assignment_of_user(user: User, slug: str, course: Course | None = None) -> Assignment:
    """Return the assignment of exercise ``slug`` that ``user`` works on: in ``course`` when
    given (which they must be enrolled in), else in the first of their courses (by slug,
    ``default`` last) that assigns it. Raise ``NoAccess`` when none does."""
    courses = [course] if course is not None else courses_of(user)
    for candidate in courses:
        if course is not None:
            require_enrolment(user, candidate)
        found = db.session.scalar(
            select(Assignment)
            .join(Exercise, Exercise.id == Assignment.exercise_id)
            .where(Assignment.course_id == candidate.id, Exercise.slug == slug)
        )
        if found is not None:
            return found
    raise NoAccess(slug)


def assigned_exercise_ids(user: User) -> set[int]:
    """Return the ids of the exercises assigned in any course ``user`` is enrolled in (every
    course for a site admin)."""
    query = select(Assignment.exercise_id)
    if not is_site_admin(user):
        query = query.where(
            Assignment.course_id.in_(
                select(Enrolment.course_id).where(Enrolment.user_id == user.id)
            )
        )
    return set(db.session.scalars(query))


def submission_course_id(submission: Submission) -> int:
    """Return the id of the course ``submission`` was made in; one made outside any course
    (no assignment) counts as the course ``default``'s, where everything from before courses
    lives. The assignment is read through the relationship: no query when it is loaded already
    (as it is while the submission is being graded)."""
    if submission.assignment is not None:
        return submission.assignment.course_id
    return default_course().id


def can_see_submission(user: User, submission: Submission) -> bool:
    """Return True when ``user`` may see ``submission``: their own, or one made in a course
    they manage (``submission_course_id``)."""
    if submission.user_id == user.id or is_site_admin(user):
        return True
    course = db.session.get(Course, submission_course_id(submission))
    return course is not None and can_manage(user, course)


def require_submission(user: User, submission: Submission | None) -> Submission:
    """Return ``submission`` if ``user`` may see it; raise ``NoAccess`` (also for None)."""
    if submission is None or not can_see_submission(user, submission):
        raise NoAccess("submission")
    return submission


# API tokens -----------------------------------------------------------------------------------


def token_reaches(token: ApiToken, course: Course) -> bool:
    """Return True when ``token`` may act in ``course``: its own, or any for an all-courses
    (admin) token."""
    return token.course_id is None or token.course_id == course.id


def token_courses(token: ApiToken) -> list[Course]:
    """Return the courses ``token`` reaches, ordered by slug."""
    query = select(Course).order_by(Course.slug)
    if token.course_id is not None:
        query = query.where(Course.id == token.course_id)
    return list(db.session.scalars(query))


def token_course(token: ApiToken, slug: str) -> Course:
    """Return the course ``slug`` if ``token`` reaches it; raise ``NoAccess`` otherwise (also
    when there is no such course: the same 404 either way)."""
    try:
        course = course_by_slug(slug)
    except CourseNotFound:
        raise NoAccess(slug) from None
    if not token_reaches(token, course):
        raise NoAccess(slug)
    return course


def users_in_reach(name: str, course_ids: Iterable[int] | None) -> list[int]:
    """Return the ids of the users called ``name`` (an LMS user id, or an email) who are
    enrolled in one of the courses ``course_ids`` (None: in any course or none)."""
    query = select(User.id).where(or_(User.external_id == name, User.email == name.lower()))
    if course_ids is not None:
        query = query.where(
            User.id.in_(select(Enrolment.user_id).where(Enrolment.course_id.in_(list(course_ids))))
        )
    return list(db.session.scalars(query))


def in_courses(query: Select, course_ids: Iterable[int] | None) -> Select:
    """Return ``query`` (which selects from ``submissions``) limited to the submissions made
    in the courses ``course_ids`` (None: no limit)."""
    if course_ids is None:
        return query
    return query.where(
        Submission.assignment_id.in_(
            select(Assignment.id).where(Assignment.course_id.in_(list(course_ids)))
        )
    )
