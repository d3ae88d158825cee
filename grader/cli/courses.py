"""``grader courses``: create courses, enrol users (one, or a CSV roster), add exercises as
assignments with their policy, and write a course's gradebook as CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext

from grader.cli.common import fail

if TYPE_CHECKING:
    from grader.models import Course

ROLE = click.Choice(["student", "ta", "instructor"])


def _course(slug: str) -> Course:
    from grader.services.courses import CourseNotFound, course_by_slug

    try:
        return course_by_slug(slug)
    except CourseNotFound:
        fail(f"no course {slug!r}; `grader courses list` shows them")


@click.group()
def courses() -> None:
    """Manage courses: enrolments, assignments and their policies, gradebooks."""


@courses.command("create")
@click.argument("slug")
@click.option("--title", required=True, help="The course's name as students see it.")
@click.option("--term", default=None, help="E.g. 'Winter 2026'.")
@click.option("--time-zone", default="UTC", show_default=True, help="IANA name: Europe/Berlin.")
@with_appcontext
def courses_create(slug: str, title: str, term: str | None, time_zone: str) -> None:
    """Create the course SLUG (lowercase letters, digits, hyphens)."""
    from grader.extensions import db
    from grader.services.courses import CourseError, create_course

    try:
        course = create_course(slug, title, term, time_zone)
        db.session.commit()
    except CourseError as exc:
        db.session.rollback()
        fail(str(exc))
    click.echo(f"created course {course.slug} ({course.title}, {course.time_zone})")


@courses.command("list")
@with_appcontext
def courses_list() -> None:
    """List the courses: slug, students, assignments, time zone, title."""
    from sqlalchemy import func, select

    from grader.extensions import db
    from grader.models import Assignment, Course, Enrolment

    students = dict(
        db.session.execute(
            select(Enrolment.course_id, func.count())
            .where(Enrolment.role == "student")
            .group_by(Enrolment.course_id)
        ).all()
    )
    assignments = dict(
        db.session.execute(
            select(Assignment.course_id, func.count()).group_by(Assignment.course_id)
        ).all()
    )
    for course in db.session.scalars(select(Course).order_by(Course.slug)):
        term = f" ({course.term})" if course.term else ""
        click.echo(
            f"{course.slug}\t{students.get(course.id, 0)} students\t"
            f"{assignments.get(course.id, 0)} assignments\t{course.time_zone}\t"
            f"{course.title}{term}"
        )


@courses.command("enrol")
@click.argument("course_slug", metavar="COURSE")
@click.argument("email", required=False)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A roster: email[,role][,external_id,issuer] per row, a header row optional.",
)
@click.option(
    "--role", type=ROLE, default="student", show_default=True, help="Role of rows without one."
)
@with_appcontext
def courses_enrol(course_slug: str, email: str | None, csv_file: Path | None, role: str) -> None:
    """Enrol EMAIL, or every row of --csv FILE, in COURSE (all or nothing)."""
    from grader.services.roster import RosterError, RosterLine, enrol_csv, enrol_roster

    if (email is None) == (csv_file is None):
        fail("give an EMAIL or --csv FILE (one of them)", 2)
    course = _course(course_slug)
    try:
        if csv_file is not None:
            report = enrol_csv(course, csv_file.read_bytes(), role)
        else:
            from grader.services.users import is_email

            address = (email or "").strip().lower()
            if not is_email(address):
                fail(f"{email!r} is not an email address")
            report = enrol_roster(course, [RosterLine(0, address, role)])
    except RosterError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        fail(f"nothing was enrolled: {len(exc.problems)} problem(s)")
    click.echo(
        f"{course.slug}: {report.enrolled} enrolled, {report.role_changed} role(s) changed, "
        f"{report.unchanged} unchanged, {report.created_users} new user(s)"
    )


@courses.command("assign")
@click.argument("course_slug", metavar="COURSE")
@click.argument("exercise")
@click.option("--opens", help="ISO 8601; without an offset, in the course's time zone. '' clears.")
@click.option("--due", help="After it the late penalty applies. '' clears.")
@click.option("--closes", help="After it nothing is accepted. '' clears.")
@click.option("--max-attempts", help="A number, or 'unlimited'.")
@click.option("--free-attempts", help="Attempts without penalty (default 1).")
@click.option(
    "--attempt-penalty", help="Fraction lost per attempt after the free ones: 0.1 or 10%."
)
@click.option(
    "--score-policy",
    type=click.Choice(["best", "last", "best-with-penalty"]),
    help="Which submission counts.",
)
@click.option(
    "--feedback", type=click.Choice(["full", "hints", "score-only"]), help="What students see."
)
@click.option("--points", help="Points it is worth; 'exercise' uses the exercise's maximum.")
@click.option("--late-penalty", help="Fraction lost between due and closes: 0.2 or 20%.")
@with_appcontext
def courses_assign(
    course_slug: str,
    exercise: str,
    opens: str | None,
    due: str | None,
    closes: str | None,
    max_attempts: str | None,
    free_attempts: str | None,
    attempt_penalty: str | None,
    score_policy: str | None,
    feedback: str | None,
    points: str | None,
    late_penalty: str | None,
) -> None:
    """Add EXERCISE to COURSE as an assignment, or change its policy (options not given stay)."""
    from grader.services.assignments import assign, local_input
    from grader.services.courses import CourseError

    course = _course(course_slug)
    raw = {
        "opens_at": opens,
        "due_at": due,
        "closes_at": closes,
        "max_attempts": max_attempts,
        "free_attempts": free_attempts,
        "attempt_penalty": attempt_penalty,
        "score_policy": score_policy,
        "feedback": feedback,
        "points": points,
        "late_penalty": late_penalty,
    }
    try:
        assignment, created = assign(course, exercise, raw)
    except CourseError as exc:
        fail(str(exc))
    zone = course.time_zone
    when = ", ".join(
        f"{label} {local_input(value, zone) or '-'}"
        for label, value in (
            ("opens", assignment.opens_at),
            ("due", assignment.due_at),
            ("closes", assignment.closes_at),
        )
    )
    points = "of the exercise" if assignment.points is None else f"{assignment.points:g}"
    click.echo(
        f"{'added' if created else 'updated'} {exercise} in {course.slug}: {when} ({zone}); "
        f"attempts {assignment.max_attempts or 'unlimited'}, {assignment.free_attempts} free, "
        f"penalty {assignment.attempt_penalty:g}; score {assignment.score_policy}; "
        f"feedback {assignment.feedback}; points {points}; "
        f"late penalty {assignment.late_penalty:g}"
    )


@courses.command("gradebook")
@click.argument("course_slug", metavar="COURSE")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (default: standard output).",
)
@with_appcontext
def courses_gradebook(course_slug: str, output: Path | None) -> None:
    """Write COURSE's gradebook as CSV: a row per student, a column per assignment, totals."""
    from grader.services.course_gradebook import course_gradebook, gradebook_csv

    book = course_gradebook(_course(course_slug))
    text = gradebook_csv(book)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8", newline="")
        click.echo(f"wrote {len(book.rows)} student(s) to {output}", err=True)
