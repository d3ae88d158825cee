"""``grader courses``: create, list, enrol (one or a CSV roster), assign, gradebook; and the
demo course of ``grader demo``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Enrolment, User
from grader.services.courses import course_by_slug
from grader.services.exercises import import_exercises
from tests.conftest import EXERCISES


def _import(app) -> None:
    with app.app_context():
        import_exercises([EXERCISES / "jacobian-shape.yaml"])


def test_create_and_list(app, runner):
    made = runner.invoke(
        args=[
            "courses",
            "create",
            "ml",
            "--title",
            "ML",
            "--term",
            "W26",
            "--time-zone",
            "Europe/Berlin",
        ]
    )
    assert made.exit_code == 0, made.output
    assert "created course ml" in made.output
    again = runner.invoke(args=["courses", "create", "ml", "--title", "ML"])
    assert again.exit_code == 1 and "exists already" in again.output
    zone = runner.invoke(args=["courses", "create", "x", "--title", "X", "--time-zone", "Nowhere"])
    assert zone.exit_code == 1 and "unknown time zone" in zone.output
    listed = runner.invoke(args=["courses", "list"])
    assert listed.exit_code == 0
    assert "ml\t0 students\t0 assignments\tEurope/Berlin\tML (W26)" in listed.output


def test_enrol_one_email_and_a_csv_roster(app, runner, tmp_path):
    runner.invoke(args=["courses", "create", "ml", "--title", "ML"])
    one = runner.invoke(args=["courses", "enrol", "ml", "Ann@Example.org", "--role", "ta"])
    assert one.exit_code == 0 and "1 enrolled" in one.output and "1 new user" in one.output
    bad = tmp_path / "bad.csv"
    bad.write_text("email,role\nbob@example.org\nnope\ncy@example.org,dean\n", encoding="utf-8")
    refused = runner.invoke(args=["courses", "enrol", "ml", "--csv", str(bad)])
    assert refused.exit_code == 1
    assert "line 3: 'nope' is not an email address" in refused.output
    assert "line 4: role 'dean'" in refused.output and "nothing was enrolled" in refused.output
    good = tmp_path / "good.csv"
    good.write_text("bob@example.org\ncy@example.org,instructor,c-1,lms\n", encoding="utf-8")
    done = runner.invoke(args=["courses", "enrol", "ml", "--csv", str(good), "--role", "student"])
    assert done.exit_code == 0 and "2 enrolled" in done.output
    with app.app_context():
        roles = {e.user.email: e.role for e in course_by_slug("ml").enrolments}
        assert roles == {
            "ann@example.org": "ta",
            "bob@example.org": "student",
            "cy@example.org": "instructor",
        }
        cy = db.session.scalar(select(User).where(User.email == "cy@example.org"))
        assert (cy.issuer, cy.external_id) == ("lms", "c-1")
    both = runner.invoke(args=["courses", "enrol", "ml", "x@example.org", "--csv", str(good)])
    assert both.exit_code == 2
    missing = runner.invoke(args=["courses", "enrol", "nope", "x@example.org"])
    assert missing.exit_code == 1 and "no course 'nope'" in missing.output


def test_assign_creates_then_updates_with_local_times(app, runner):
    _import(app)
    runner.invoke(
        args=["courses", "create", "ml", "--title", "ML", "--time-zone", "America/New_York"]
    )
    args = ["courses", "assign", "ml", "jacobian-shape"]
    added = runner.invoke(
        args=[
            *args,
            "--due",
            "2026-12-24T17:00",
            "--closes",
            "2026-12-31",
            "--max-attempts",
            "3",
            "--attempt-penalty",
            "10%",
            "--score-policy",
            "best-with-penalty",
            "--feedback",
            "score-only",
            "--points",
            "5",
            "--late-penalty",
            "0.5",
        ]
    )
    assert added.exit_code == 0, added.output
    assert added.output.startswith("added jacobian-shape in ml: opens -, due 2026-12-24T17:00")
    updated = runner.invoke(args=[*args, "--max-attempts", "unlimited", "--due", ""])
    assert updated.exit_code == 0 and updated.output.startswith("updated")
    refused = runner.invoke(args=[*args, "--opens", "2027-01-01T00:00", "--free-attempts", "x"])
    assert refused.exit_code == 1
    assert "closes: must not be before opens" in refused.output
    assert "free attempts: enter a whole number" in refused.output
    with app.app_context():
        assignment = course_by_slug("ml").assignments[0]
        assert assignment.due_at is None and assignment.max_attempts is None
        closes = assignment.closes_at.replace(tzinfo=UTC)
        assert closes == datetime(2026, 12, 31, 5, tzinfo=UTC)  # midnight in New York
        assert (assignment.feedback, assignment.points, assignment.late_penalty) == (
            "score-only",
            5,
            0.5,
        )
    unknown = runner.invoke(args=["courses", "assign", "ml", "nope"])
    assert unknown.exit_code == 1 and "no exercise 'nope'" in unknown.output


def test_gradebook_to_stdout_and_to_a_file(app, runner, tmp_path):
    _import(app)
    runner.invoke(args=["courses", "create", "ml", "--title", "ML"])
    runner.invoke(args=["courses", "assign", "ml", "jacobian-shape"])
    runner.invoke(args=["courses", "enrol", "ml", "=cmd@example.org"])
    shown = runner.invoke(args=["courses", "gradebook", "ml"])
    assert shown.exit_code == 0
    rows = list(csv.reader(io.StringIO(shown.output)))
    assert rows[0][:4] == ["email", "external_id", "issuer", "jacobian-shape"]
    assert rows[1][0] == "'=cmd@example.org" and rows[1][3] == "" and rows[1][4] == "0"
    target = tmp_path / "book.csv"
    written = runner.invoke(args=["courses", "gradebook", "ml", "--output", str(target)])
    assert written.exit_code == 0 and target.read_text(encoding="utf-8") == shown.output


def test_demo_enrols_its_users_in_the_demo_course(app, runner):
    _import(app)
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    assert "instructor@example.com" in result.output and "demo course" in result.output
    with app.app_context():
        course = course_by_slug("demo")
        assert [a.exercise.slug for a in course.assignments] == ["jacobian-shape"]
        roles = {e.user.email: e.role for e in course.enrolments}
        assert roles == {"instructor@example.com": "instructor", "student@example.com": "student"}
        assert (
            db.session.scalar(
                select(func.count(Enrolment.id)).where(Enrolment.course_id == course.id)
            )
            == 2
        )
