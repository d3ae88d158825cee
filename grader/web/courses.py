"""Instructor pages of courses: the list, creating one, its assignments and their policies, the
roster (CSV upload), the gradebook (page and wide CSV) and the course's review queue.

Thin views over ``services.courses``, ``assignments``, ``roster`` and ``course_gradebook``. A
course is shown to its instructors and TAs (and site admins), whatever their site role (an
LMS's teacher comes in through LTI with the site role student); changing it (assignments,
policies, roster) takes its instructor. Anyone else gets 404: a page reveals no course.
Creating a course takes the site role instructor.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from grader.extensions import db
from grader.models import Assignment, Course, CourseRole, FeedbackLevel, ScorePolicy
from grader.services.access import (
    managed_course_or_404,
    managed_courses,
    require_enrolment,
    role_in,
)
from grader.services.assignments import (
    FIELD_LABELS,
    POLICY_FIELDS,
    TIME_FIELDS,
    PolicyError,
    assign,
    course_time,
    local_input,
    unassigned_exercises,
    update_policy,
)
from grader.services.course_gradebook import course_gradebook, gradebook_csv
from grader.services.courses import CourseError, open_course
from grader.services.review import pending_reviews
from grader.services.roster import RosterError, RosterProblem, enrol_csv
from grader.web.auth import course_staff_required, instructor_required, signed_in_user
from grader.web.blueprint import bp

MAX_ROSTER_BYTES = 1_000_000


def staff_course(slug: str, manage: bool = False) -> Course:
    """Return the course ``slug`` if the signed-in user teaches it (``manage``: as its
    instructor); else raise ``NoAccess`` (a 404 page: a page reveals no other course)."""
    course = managed_course_or_404(signed_in_user(), slug)
    if manage:
        require_enrolment(signed_in_user(), course, [CourseRole.INSTRUCTOR])
    return course


def _time_zone_names() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(available_timezones())


@bp.get("/instructor/courses")
@course_staff_required
def course_list() -> ResponseReturnValue:
    """List the courses the signed-in user teaches (a site admin: every course)."""
    return render_template("instructor/courses.html", courses=managed_courses(signed_in_user()))


@bp.route("/instructor/courses/new", methods=["GET", "POST"])
@instructor_required
def course_new() -> ResponseReturnValue:
    """Show the form for a new course; on POST create it, its creator its instructor."""
    form = {
        key: request.form.get(key, "").strip()[:300] for key in ("slug", "title", "term", "zone")
    }
    form["zone"] = form["zone"] or "UTC"
    if request.method == "GET":
        return render_template("instructor/course_new.html", form=form, zones=_time_zone_names())
    try:
        course = open_course(
            signed_in_user(), form["slug"], form["title"], form["term"] or None, form["zone"]
        )
    except CourseError as exc:
        return render_template(
            "instructor/course_new.html", form=form, zones=_time_zone_names(), error=str(exc)
        ), 422
    flash(f"Course {course.slug} created. Add its assignments and upload its roster.", "info")
    return redirect(url_for("web.course_page", slug=course.slug), 303)


def _course_page(course: Course, error: str | None = None, status: int = 200):
    return render_template(
        "instructor/course.html",
        course=course,
        role=role_in(signed_in_user(), course),
        assignments=course.assignments,
        exercises=unassigned_exercises(course),
        local=lambda value: course_time(value, course.time_zone),
        error=error,
    ), status


@bp.get("/instructor/courses/<slug>")
@course_staff_required
def course_page(slug: str) -> ResponseReturnValue:
    """Show a course: its assignments with their policies, and the form to add one."""
    return _course_page(staff_course(slug))


@bp.post("/instructor/courses/<slug>/assignments")
@course_staff_required
def assignment_add(slug: str) -> ResponseReturnValue:
    """Add an exercise to the course as an assignment with the default policy."""
    course = staff_course(slug, manage=True)
    exercise = request.form.get("exercise", "")[:100]
    try:
        assignment, _ = assign(course, exercise, {})
    except CourseError as exc:
        return _course_page(course, str(exc), 422)
    flash(f"{exercise} added; set its dates and policy below.", "info")
    return redirect(url_for("web.assignment_edit", slug=slug, assignment_id=assignment.id), 303)


def _assignment(course: Course, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != course.id:
        abort(404)
    return assignment


@bp.route("/instructor/courses/<slug>/assignments/<int:assignment_id>", methods=["GET", "POST"])
@course_staff_required
def assignment_edit(slug: str, assignment_id: int) -> ResponseReturnValue:
    """Show an assignment's policy form (times in the course's time zone); on POST store it."""
    course = staff_course(slug, manage=True)
    assignment = _assignment(course, assignment_id)
    if request.method == "GET":
        form = {
            name: (
                local_input(getattr(assignment, name), course.time_zone)
                if name in TIME_FIELDS
                else _shown(getattr(assignment, name))
            )
            for name in POLICY_FIELDS
        }
        return _policy_form(course, assignment, form, {})
    form = {name: request.form.get(name, "")[:100] for name in POLICY_FIELDS}
    try:
        update_policy(assignment, form)
        db.session.commit()
    except PolicyError as exc:
        db.session.rollback()
        return _policy_form(course, assignment, form, exc.errors, 422)
    flash(f"The policy of {assignment.exercise.slug} is saved.", "info")
    return redirect(url_for("web.course_page", slug=slug) + f"#assignment-{assignment.id}", 303)


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _policy_form(
    course: Course,
    assignment: Assignment,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
):
    return render_template(
        "instructor/assignment.html",
        course=course,
        assignment=assignment,
        form=form,
        errors=errors,
        labels=FIELD_LABELS,
        score_policies=list(ScorePolicy),
        feedback_levels=list(FeedbackLevel),
    ), status


def _roster_page(course: Course, problems=(), report=None, status: int = 200):
    enrolments = sorted(
        course.enrolments, key=lambda e: (e.role, e.user.email or e.user.external_id or "")
    )
    return render_template(
        "instructor/roster.html",
        course=course,
        enrolments=enrolments,
        can_manage=role_in(signed_in_user(), course) == CourseRole.INSTRUCTOR,
        problems=problems,
        report=report,
        roles=list(CourseRole),
    ), status


@bp.get("/instructor/courses/<slug>/roster")
@course_staff_required
def roster(slug: str) -> ResponseReturnValue:
    """Show who is enrolled, and (to its instructors) the roster upload form."""
    return _roster_page(staff_course(slug))


@bp.post("/instructor/courses/<slug>/roster")
@course_staff_required
def roster_upload(slug: str) -> ResponseReturnValue:
    """Enrol every row of an uploaded roster CSV, or nothing and each bad row's problem."""
    course = staff_course(slug, manage=True)
    upload = request.files.get("roster")
    role = request.form.get("role", CourseRole.STUDENT)
    if role not in tuple(CourseRole):
        role = CourseRole.STUDENT
    if upload is None or not upload.filename:
        return _roster_page(course, [_whole("Choose a CSV file.")], status=422)
    data = upload.read(MAX_ROSTER_BYTES + 1)
    if len(data) > MAX_ROSTER_BYTES:
        return _roster_page(course, [_whole("The file is larger than 1 MB.")], status=422)
    try:
        report = enrol_csv(course, data, role, actor=signed_in_user())
    except RosterError as exc:
        return _roster_page(course, exc.problems, status=422)
    return _roster_page(course, report=report)


def _whole(message: str) -> RosterProblem:
    return RosterProblem(0, message)


@bp.get("/instructor/courses/<slug>/gradebook")
@course_staff_required
def course_gradebook_page(slug: str) -> ResponseReturnValue:
    """Show the gradebook: a row per student, a column per assignment, the totals."""
    course = staff_course(slug)
    book = course_gradebook(course)
    return render_template(
        "instructor/course_gradebook.html",
        course=course,
        book=book,
        local=lambda value: course_time(value, course.time_zone),
    )


@bp.get("/instructor/courses/<slug>/gradebook.csv")
@course_staff_required
def course_gradebook_csv(slug: str) -> ResponseReturnValue:
    """Return the gradebook as wide CSV (``course_gradebook.gradebook_csv``)."""
    course = staff_course(slug)
    return Response(
        gradebook_csv(course_gradebook(course)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="gradebook-{course.slug}.csv"'},
    )


@bp.get("/instructor/courses/<slug>/review")
@course_staff_required
def course_review(slug: str) -> ResponseReturnValue:
    """List the parts waiting for review in the course's assignments, oldest first; each
    opens the submission with next/previous through this course's queue."""
    course = staff_course(slug)
    return render_template(
        "instructor/course_review.html",
        course=course,
        pending=pending_reviews(course_id=course.id),
    )
