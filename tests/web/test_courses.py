"""The instructor's course pages through the Flask client: list, create, assignments and their
policy, roster upload, gradebook (page and CSV) and the course's review queue."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Assignment, Enrolment, User
from grader.services.courses import course_by_slug, create_course, enrol
from grader.services.exercises import import_exercises
from grader.services.grading import submit
from grader.services.users import create_user
from tests.conftest import EXERCISES
from tests.web.conftest import PASSWORD, sign_in


def _make_course(app, slug: str = "ml", teacher: str = "teacher@example.org") -> None:
    with app.app_context():
        course = create_course(slug, f"Course {slug}", time_zone="Europe/Berlin")
        user = db.session.scalar(select(User).where(User.email == teacher))
        enrol(course, user, "instructor")
        db.session.commit()


def test_course_list_shows_only_the_instructors_courses(instructor, imported):
    _make_course(imported)
    with imported.app_context():
        create_course("secret", "Someone else's")
        db.session.commit()
    page = instructor.get("/instructor/courses").get_data(as_text=True)
    assert "/instructor/courses/ml" in page and "secret" not in page
    for path in ("", "/roster", "/gradebook", "/gradebook.csv", "/review"):
        assert instructor.get(f"/instructor/courses/secret{path}").status_code == 404
    assert instructor.get("/instructor/courses/ml").status_code == 200


def test_students_and_strangers_do_not_reach_course_pages(student, imported):
    _make_course(imported)
    assert student.get("/instructor/courses").status_code == 403
    assert student.get("/instructor/courses/ml/gradebook").status_code == 403


def test_admin_sees_every_course(client, imported, users):
    _make_course(imported)
    with imported.app_context():
        create_user("admin@example.org", "admin", PASSWORD)
    sign_in(client, "admin@example.org")
    assert "/instructor/courses/ml" in client.get("/instructor/courses").get_data(as_text=True)
    assert client.get("/instructor/courses/ml/roster").status_code == 200


def test_create_course_enrols_its_creator_and_refuses_bad_input(instructor, imported):
    bad = instructor.post(
        "/instructor/courses/new", data={"slug": "Bad Slug", "title": "x", "zone": "UTC"}
    )
    assert bad.status_code == 422 and "lowercase letters" in bad.get_data(as_text=True)
    zone = instructor.post(
        "/instructor/courses/new", data={"slug": "ok", "title": "x", "zone": "Mars/Base"}
    )
    assert zone.status_code == 422 and "unknown time zone" in zone.get_data(as_text=True)
    made = instructor.post(
        "/instructor/courses/new",
        data={"slug": "ml-2026", "title": "ML <b>", "term": "Winter", "zone": "Asia/Tokyo"},
    )
    assert made.status_code == 303 and made.headers["Location"].endswith("/courses/ml-2026")
    page = instructor.get("/instructor/courses/ml-2026").get_data(as_text=True)
    assert "ML &lt;b&gt;" in page and "Asia/Tokyo" in page
    with imported.app_context():
        course = course_by_slug("ml-2026")
        assert [(e.user.email, e.role) for e in course.enrolments] == [
            ("teacher@example.org", "instructor")
        ]
    again = instructor.post("/instructor/courses/new", data={"slug": "ml-2026", "title": "y"})
    assert again.status_code == 422 and "exists already" in again.get_data(as_text=True)


def test_add_assignment_and_edit_its_policy_in_the_course_time_zone(instructor, imported):
    _make_course(imported)
    page = instructor.get("/instructor/courses/ml").get_data(as_text=True)
    assert 'value="jacobian-shape"' in page
    added = instructor.post(
        "/instructor/courses/ml/assignments", data={"exercise": "jacobian-shape"}
    )
    assert added.status_code == 303
    edit = added.headers["Location"]
    unknown = instructor.post("/instructor/courses/ml/assignments", data={"exercise": "nope"})
    assert unknown.status_code == 422 and "no exercise" in unknown.get_data(as_text=True)
    form = {
        "opens_at": "2026-12-01T09:00",
        "due_at": "2026-12-24T17:00",
        "closes_at": "2026-12-20T17:00",
        "max_attempts": "0",
        "free_attempts": "1",
        "attempt_penalty": "10%",
        "score_policy": "last",
        "feedback": "hints",
        "points": "",
        "late_penalty": "0.5",
    }
    refused = instructor.post(edit, data=form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="error-summary"' in text
    assert "must not be before due" in text and "whole number of at least 1" in text
    assert 'value="2026-12-20T17:00"' in text  # what was typed stays
    saved = instructor.post(
        edit, data={**form, "closes_at": "2026-12-31T23:00", "max_attempts": "3"}
    )
    assert saved.status_code == 303
    with imported.app_context():
        assignment = db.session.scalar(select(Assignment).where(Assignment.course_id != 1))
        assert assignment.due_at.replace(tzinfo=UTC) == datetime(2026, 12, 24, 16, tzinfo=UTC)
        assert (assignment.max_attempts, assignment.feedback, assignment.score_policy) == (
            3,
            "hints",
            "last",
        )
    again = instructor.get(edit).get_data(as_text=True)
    assert 'value="2026-12-24T17:00"' in again  # shown in Berlin time again
    listing = instructor.get("/instructor/courses/ml").get_data(as_text=True)
    assert 'datetime="2026-12-24T17:00:00+01:00"' in listing
    with imported.app_context():
        other = create_course("other", "Other")
        enrol(
            other,
            db.session.scalar(select(User).where(User.email == "teacher@example.org")),
            "instructor",
        )
        db.session.commit()
    assert instructor.get(edit.replace("/ml/", "/other/")).status_code == 404


def test_roster_upload_lists_every_bad_line_and_enrols_nothing(instructor, imported):
    _make_course(imported)
    bad = b"email,role\nann@example.org,student\nnope,student\nbob@example.org,king\n"
    response = instructor.post(
        "/instructor/courses/ml/roster",
        data={"roster": (io.BytesIO(bad), "roster.csv"), "role": "student"},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 3: &#39;nope&#39; is not an email address" in text and "Line 4: role" in text
    with imported.app_context():
        assert (
            db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.course_id != 1)) == 1
        )
    good = b"ann@example.org\nbob@example.org,ta,b-7\n"
    response = instructor.post(
        "/instructor/courses/ml/roster",
        data={"roster": (io.BytesIO(good), "roster.csv"), "role": "student"},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 enrolled" in text
    assert "bob@example.org" in text and "b-7" in text and "api:ml" in text
    empty = instructor.post(
        "/instructor/courses/ml/roster", data={}, content_type="multipart/form-data"
    )
    assert empty.status_code == 422 and "Choose a CSV file" in empty.get_data(as_text=True)


def test_a_ta_sees_the_course_but_cannot_change_it(client, imported, users):
    _make_course(imported)
    with imported.app_context():
        ta = create_user("ta@example.org", "instructor", PASSWORD)
        enrol(course_by_slug("ml"), ta, "ta")
        db.session.commit()
    sign_in(client, "ta@example.org")
    assert client.get("/instructor/courses/ml/gradebook").status_code == 200
    roster = client.get("/instructor/courses/ml/roster").get_data(as_text=True)
    assert 'type="file"' not in roster
    data = {"roster": (io.BytesIO(b"x@example.org\n"), "r.csv")}
    upload = client.post(
        "/instructor/courses/ml/roster", data=data, content_type="multipart/form-data"
    )
    assert upload.status_code == 404
    add = client.post("/instructor/courses/ml/assignments", data={"exercise": "jacobian-shape"})
    assert add.status_code == 404


@pytest.fixture()
def graded_course(imported, users):
    """Course ``ml`` with jacobian-shape and multi-gpu assigned; the student submitted both
    (the essay waits for review), another course's student submitted too."""
    with imported.app_context():
        import_exercises([EXERCISES / "multi-gpu.yaml"])
    _make_course(imported)
    from grader.services.assignments import assign

    with imported.app_context():
        course = course_by_slug("ml")
        shapes, _ = assign(course, "jacobian-shape", {"points": "4"})
        essay, _ = assign(course, "multi-gpu", {})
        student = db.session.get(User, users["student"])
        enrol(course, student, "student")
        other = create_course("other", "Other")
        other_essay, _ = assign(other, "multi-gpu", {})
        db.session.commit()
        answers = {
            "partition": ["yes-model-parallel"],
            "discussion": "Split the layers across the devices and send activations.",
        }
        submit("jacobian-shape", student, {"shape": "n×m"}, "web", seed=1, assignment=shapes)
        first, _ = submit("multi-gpu", student, answers, "web", seed=1, assignment=essay)
        second, _ = submit("multi-gpu", student, answers, "web", seed=2, assignment=essay)
        stranger = db.session.get(User, users["other"])
        elsewhere, _ = submit("multi-gpu", stranger, answers, "web", seed=3, assignment=other_essay)
        return first.id, second.id, elsewhere.id


def test_gradebook_page_and_csv(instructor, graded_course):
    first, second, elsewhere = graded_course
    page = instructor.get("/instructor/courses/ml/gradebook").get_data(as_text=True)
    assert "student@example.org" in page and "other@example.org" not in page
    assert "jacobian-shape" in page and "multi-gpu" in page
    # each cell opens the submission behind it: both wait for review, so the latest
    waiting = re.search(r'<a href="([^"]+)" title="([^"]+)"[^>]*>◷</a>', page)
    assert waiting.group(1) == f"/instructor/submissions/{second}?course=ml"
    assert waiting.group(2) == "2 submissions; the latest, waiting for review"
    assert f"/instructor/submissions/{first}?" not in page
    assert f"/instructor/submissions/{elsewhere}?" not in page
    scored = re.search(r'<a href="([^"]+)" title="1 submission; this one counts"', page)
    assert instructor.get(scored.group(1)).status_code == 200
    response = instructor.get("/instructor/courses/ml/gradebook.csv")
    assert response.mimetype == "text/csv"
    assert 'filename="gradebook-ml.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][3:5] == ["jacobian-shape", "multi-gpu"] and len(rows) == 2
    assert rows[1][0] == "student@example.org" and rows[1][4] == ""  # waiting for review
    assert datetime.fromisoformat(rows[1][-1]).utcoffset().total_seconds() == 3600


def test_course_review_queue_walks_only_this_course(instructor, graded_course):
    first, second, elsewhere = graded_course
    page = instructor.get("/instructor/courses/ml/review").get_data(as_text=True)
    assert f"/instructor/submissions/{first}?course=ml" in page
    assert f"/instructor/submissions/{elsewhere}" not in page
    detail = instructor.get(f"/instructor/submissions/{first}?course=ml").get_data(as_text=True)
    assert "Waiting for review in ml: 1 of 2" in detail
    assert f"/instructor/submissions/{second}?course=ml" in detail
    last = instructor.get(f"/instructor/submissions/{second}?course=ml").get_data(as_text=True)
    assert "2 of 2" in last and f"/instructor/submissions/{elsewhere}" not in last
    everything = instructor.get(f"/instructor/submissions/{second}").get_data(as_text=True)
    assert "2 of 3" in everything  # without a course: the queue of every exercise
    graded = instructor.post(
        f"/instructor/submissions/{first}/parts/discussion/review?course=ml",
        data={"score": "1", "feedback": "ok"},
    )
    assert graded.status_code == 303 and graded.headers["Location"].endswith("?course=ml")
    assert instructor.get(f"/instructor/submissions/{first}?course=nope").status_code == 404


def test_a_ta_with_the_site_role_student_teaches_the_course_and_nothing_more(client, imported):
    with imported.app_context():
        course = create_course("ml", "Course ml", time_zone="UTC")
        create_course("secret", "Someone else's")
        ta = create_user("ta@example.org", "student", PASSWORD)
        enrol(course, ta, "ta")
        db.session.commit()
    sign_in(client, "ta@example.org")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/instructor/courses">Courses</a>' in home and "Dashboard" not in home
    listing = client.get("/instructor/courses").get_data(as_text=True)
    assert "/instructor/courses/ml" in listing and "New course" not in listing
    for path in ("", "/roster", "/gradebook", "/gradebook.csv", "/review"):
        assert client.get(f"/instructor/courses/ml{path}").status_code == 200, path
        assert client.get(f"/instructor/courses/secret{path}").status_code == 404, path
    assert client.get("/instructor/courses/new").status_code == 403  # creating takes the site role
    assert client.get("/instructor").status_code == 403
    added = client.post("/instructor/courses/ml/assignments", data={"exercise": "jacobian-shape"})
    assert added.status_code == 404  # changing the course takes its instructor
