"""Course administration services: rosters (CSV, all or nothing), assignment policies read
from text in the course's time zone, the course gradebook (wide CSV) and its review queue."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Enrolment, Submission, User
from grader.services.access import managed_courses, role_in
from grader.services.assignments import PolicyError, assign, parse_course_time, parse_policy
from grader.services.course_gradebook import course_gradebook, gradebook_csv
from grader.services.courses import CourseError, course_by_slug, create_course, enrol, open_course
from grader.services.exercises import import_exercises
from grader.services.grading import submit
from grader.services.review import pending_reviews
from grader.services.roster import RosterError, enrol_csv, read_roster
from grader.services.users import create_user, lms_user
from tests.conftest import EXERCISES

ESSAY = {
    "partition": ["yes-model-parallel"],
    "discussion": "Partition when the parameters do not fit on one GPU.",
}


@pytest.fixture()
def course_app(app):
    """``app`` with jacobian-shape and multi-gpu imported and a course ``ml`` (Berlin time)."""
    with app.app_context():
        import_exercises([EXERCISES / "jacobian-shape.yaml", EXERCISES / "multi-gpu.yaml"])
        create_course("ml", "Machine learning", "Winter 2026", "Europe/Berlin")
        db.session.commit()
    return app


# Rosters ---------------------------------------------------------------------------------


def test_roster_reports_every_bad_row_with_its_line_and_writes_nothing(course_app):
    text = (
        "email,role,external_id,issuer\n"
        "ann@example.org,student,42,\n"
        "not-an-email,student,,\n"
        "\n"
        "bob@example.org,boss,,\n"
        "ann@example.org,ta,,\n"
        "cy@example.org,,bad id!,\n"
        "dee@example.org,,,lms.example\n"
        '"eve@example.org",student,"multi\nline",\n'
        "fay@example.org,student,,,extra\n"
    )
    with course_app.app_context():
        with pytest.raises(RosterError) as caught:
            enrol_csv(course_by_slug("ml"), text)
        lines = [(p.line, p.message) for p in caught.value.problems]
        assert [line for line, _ in lines] == [3, 5, 6, 7, 8, 10, 11]
        assert "'not-an-email' is not an email address" in lines[0][1]
        assert "role 'boss'" in lines[1][1]
        assert "on line 2 too" in lines[2][1]
        assert "external_id" in lines[3][1] and "issuer needs an external_id" in lines[4][1]
        assert db.session.scalar(select(func.count(User.id))) == 0
        assert db.session.scalar(select(func.count(Enrolment.id))) == 0


def test_roster_enrols_creates_links_and_changes_roles(course_app):
    with course_app.app_context():
        course = course_by_slug("ml")
        known = create_user("known@example.org", "student", "pw-123456789")
        lms = lms_user("77", "api:ml")
        report = enrol_csv(
            course,
            "\ufeffKnown@Example.org\nnew@example.org,ta\nlms@example.org,,77\n".encode(),
        )
        assert (report.created_users, report.enrolled, report.unchanged) == (1, 3, 0)
        db.session.refresh(lms)
        assert lms.email == "lms@example.org"  # the LMS user found by (issuer, id), email set
        roles = {e.user.email: e.role for e in course.enrolments}
        assert roles == {
            "known@example.org": "student",
            "new@example.org": "ta",
            **{"lms@example.org": "student"},
        }
        new = db.session.scalar(select(User).where(User.email == "new@example.org"))
        # staff reach the course's pages by their enrolment; the site role stays (no new courses)
        assert new.role == "student" and new.password_hash is None
        again = enrol_csv(course, "email,role\nknown@example.org,instructor\n", "student")
        assert (again.enrolled, again.role_changed) == (0, 1)
        assert role_in(known, course) == "instructor"


def test_roster_refuses_conflicts_with_stored_users_and_own_role(course_app):
    with course_app.app_context():
        course = course_by_slug("ml")
        teacher = create_user("t@example.org", "instructor", "pw-123456789")
        enrol(course, teacher, "instructor")
        lms_user("5", "api:ml")
        linked = lms_user("6", "api:ml")
        linked.email = "six@example.org"
        db.session.commit()
        with pytest.raises(RosterError) as caught:
            enrol_csv(
                course,
                "t@example.org,student\nsix@example.org,student,5\nx@example.org,,6\n",
                actor=teacher,
            )
        assert [p.line for p in caught.value.problems] == [1, 2, 3]
        assert "own role" in caught.value.problems[0].message
        assert "two different users" in caught.value.problems[1].message
        assert "belongs to six@example.org" in caught.value.problems[2].message
        assert role_in(teacher, course) == "instructor"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ann@example.org\n\xff\xfe\n", "line 2: the file is not UTF-8"),
        ("", "has no rows"),
        ("email,grade\n", "unknown column 'grade'"),
        ("ann@example.org\x00,student\n", "control character"),
    ],
)
def test_roster_refuses_unreadable_files(course_app, data, message):
    with course_app.app_context(), pytest.raises(RosterError, match=message):
        read_roster(data)


# Policies --------------------------------------------------------------------------------


def test_policy_times_are_read_in_the_course_time_zone_and_stored_in_utc(course_app):
    assert parse_course_time("2026-07-01T12:00", "Europe/Berlin") == datetime(
        2026, 7, 1, 10, tzinfo=UTC
    )
    assert parse_course_time("2026-12-01 12:00+00:00", "Europe/Berlin") == datetime(
        2026, 12, 1, 12, tzinfo=UTC
    )
    assert parse_course_time(" ", "UTC") is None
    with course_app.app_context():
        course = course_by_slug("ml")
        assignment, created = assign(
            course,
            "jacobian-shape",
            {
                "opens_at": "2026-12-01T09:00",
                "due_at": "2026-12-24T17:00",
                "closes_at": "2026-12-31T23:59",
                "max_attempts": "3",
                "attempt_penalty": "10%",
                "score_policy": "best-with-penalty",
                "feedback": "hints",
                "points": "20",
                "late_penalty": "0.25",
            },
        )
        assert created
        db.session.expire_all()
        stored = db.session.get(type(assignment), assignment.id)
        assert stored.due_at.replace(tzinfo=UTC) == datetime(2026, 12, 24, 16, tzinfo=UTC)
        assert (stored.max_attempts, stored.attempt_penalty, stored.points) == (3, 0.1, 20)
        assert (stored.score_policy, stored.feedback, stored.late_penalty) == (
            "best-with-penalty",
            "hints",
            0.25,
        )
        again, created = assign(course, "jacobian-shape", {"max_attempts": "unlimited"})
        assert not created and again.max_attempts is None and again.points == 20  # others kept


def test_policy_errors_name_every_field_and_change_nothing(course_app):
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            {
                "opens_at": "tomorrow",
                "max_attempts": "0",
                "free_attempts": "-1",
                "attempt_penalty": "150%",
                "score_policy": "worst",
                "feedback": "loud",
                "points": "nan",
                "late_penalty": "x" * 100,
            },
            "UTC",
        )
    assert set(caught.value.errors) == {
        "opens_at",
        "max_attempts",
        "free_attempts",
        "attempt_penalty",
        "score_policy",
        "feedback",
        "points",
        "late_penalty",
    }
    with course_app.app_context():
        course = course_by_slug("ml")
        assign(course, "jacobian-shape", {"due_at": "2026-12-24T17:00"})
        with pytest.raises(PolicyError) as caught:
            assign(course, "jacobian-shape", {"closes_at": "2026-12-20T00:00", "points": "7"})
        assert caught.value.errors == {"closes_at": "must not be before due"}
        db.session.expire_all()
        stored = course.assignments[0]
        assert stored.closes_at is None and stored.points is None
        with pytest.raises(PolicyError):
            assign(course, "multi-gpu", {"points": "-1"})
        assert [a.exercise.slug for a in course_by_slug("ml").assignments] == ["jacobian-shape"]
        with pytest.raises(CourseError, match="no exercise 'nope'"):
            assign(course, "nope", {})


# Courses, gradebook, review queue ----------------------------------------------------------


def test_open_course_makes_its_creator_its_instructor(course_app):
    with course_app.app_context():
        teacher = create_user("t@example.org", "instructor", "pw-123456789")
        admin = create_user("a@example.org", "admin", "pw-123456789")
        mine = open_course(teacher, "mine", "Mine")
        assert [c.slug for c in managed_courses(teacher)] == ["mine", "default"]
        assert {"default", "ml", "mine"} <= {c.slug for c in managed_courses(admin)}
        assert role_in(teacher, mine) == "instructor"
        with pytest.raises(CourseError, match="exists already"):
            open_course(teacher, "mine", "Again")


def test_gradebook_has_a_row_per_student_a_column_per_assignment_and_totals(course_app):
    with course_app.app_context():
        course = course_by_slug("ml")
        shapes, _ = assign(course, "jacobian-shape", {"points": "10"})
        essay, _ = assign(course, "multi-gpu", {})
        ann = create_user("=ann@example.org", "student", "pw-123456789")
        bob = lms_user("bob-1", "api:ml")
        teacher = create_user("t@example.org", "instructor", "pw-123456789")
        for user, role in ((ann, "student"), (bob, "student"), (teacher, "instructor")):
            enrol(course, user, role)
        db.session.commit()
        wrong = {"shape": "m×n"}
        right = {"shape": "n×m", "do_dh": "h×q", "dJ_dW1": "h×d"}
        submit("jacobian-shape", ann, wrong, "web", seed=1, assignment=shapes)
        best, _ = submit("jacobian-shape", ann, right, "web", seed=1, assignment=shapes)
        submit("jacobian-shape", teacher, right, "web", seed=1, assignment=shapes)
        waiting, _ = submit("multi-gpu", bob, ESSAY, "api", seed=1, assignment=essay)
        book = course_gradebook(course)
        assert [c.slug for c in book.columns] == ["jacobian-shape", "multi-gpu"]
        assert [r.name for r in book.rows] == ["=ann@example.org", "bob-1"]  # no staff row
        ann_row, bob_row = book.rows
        expected = round(best.score / best.max_score * 10, 6)
        assert ann_row.cells == (expected, None) and ann_row.total == expected
        assert bob_row.cells == (None, None) and bob_row.pending_review == 1
        rows = list(csv.reader(io.StringIO(gradebook_csv(book))))
        assert rows[0][:5] == ["email", "external_id", "issuer", "jacobian-shape", "multi-gpu"]
        assert rows[0][5:] == ["total", "max_total", "pending_review", "last_submission_at"]
        assert rows[1][0] == "'=ann@example.org"  # a formula is not run by a spreadsheet
        assert rows[2][:3] == ["", "bob-1", "api:ml"]
        assert rows[1][6] == f"{book.max_total:g}"
        stamp = datetime.fromisoformat(rows[2][8])
        assert stamp.utcoffset() is not None and rows[2][8].endswith("+01:00")  # Berlin, Dec
        assert stamp == waiting.created_at.replace(tzinfo=UTC, microsecond=0)  # to the second
        assert [p.submission_id for p in pending_reviews(course_id=course.id)] == [waiting.id]
        other = create_course("other", "Other")
        assert pending_reviews(course_id=other.id) == []
        assert db.session.scalar(select(func.count(Submission.id))) == 4
