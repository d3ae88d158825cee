"""Web access by course enrolment (DESIGN section 9): a student sees, opens, submits and reads
only assignments of their courses; an instructor sees only submissions of the courses they
teach; everything else is a 404 page that reveals nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import delete, select

from grader.extensions import db
from grader.models import Assignment, Enrolment, Exercise, Submission, User
from grader.services.access import (
    NoAccess,
    can_manage,
    courses_of,
    require_enrolment,
)
from grader.services.courses import course_by_slug, create_course, default_course, enrol
from grader.services.users import create_user
from tests.conftest import EXERCISES
from tests.web.conftest import ANSWERS, PASSWORD, sign_in, submission_id

SQUARED = "squared-loss"


@pytest.fixture()
def beta(imported: Flask, users: dict[str, int]) -> dict[str, int]:
    """A course beta that alone assigns squared-loss (removed from the default course); a
    student enrolled only there (ben), an instructor who teaches only beta (bea), a site admin;
    return the user ids by name."""
    from grader.services.courses import ensure_assignment
    from grader.services.exercises import import_exercises

    with imported.app_context():
        import_exercises([EXERCISES / f"{SQUARED}.yaml"])
        squared = db.session.scalar(select(Exercise).where(Exercise.slug == SQUARED))
        jacobian = db.session.scalar(select(Exercise).where(Exercise.slug == "jacobian-shape"))
        db.session.execute(
            delete(Assignment).where(
                Assignment.course_id == default_course().id, Assignment.exercise_id == squared.id
            )
        )
        course = create_course("beta", "Beta")
        ensure_assignment(course, squared)
        ensure_assignment(course, jacobian)
        ids = {}
        for name, role, course_role in (
            ("ben", "student", "student"),
            ("bea", "instructor", "instructor"),
        ):
            user = create_user(f"{name}@example.org", role, PASSWORD)
            db.session.execute(delete(Enrolment).where(Enrolment.user_id == user.id))
            enrol(course, user, course_role)
            ids[name] = user.id
        ids["root"] = create_user("root@example.org", "admin", PASSWORD).id
        db.session.commit()
    return ids


def test_new_users_are_enrolled_in_the_default_course(imported, users):
    with imported.app_context():
        roles = {
            db.session.get(User, uid).email: [
                (e.course.slug, e.role) for e in db.session.get(User, uid).enrolments
            ]
            for uid in users.values()
        }
    assert roles == {
        "student@example.org": [("default", "student")],
        "other@example.org": [("default", "student")],
        "teacher@example.org": [("default", "instructor")],
    }


def test_a_student_sees_only_the_assignments_of_their_courses(client, beta):
    sign_in(client, "student@example.org")  # enrolled in default only
    listing = client.get("/exercises").get_data(as_text=True)
    assert "jacobian-shape" in listing and SQUARED not in listing
    assert client.get(f"/exercises/{SQUARED}").status_code == 404
    response = client.post(f"/exercises/{SQUARED}", data={"answer-dL_do": "2*(o - y)"})
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)
    assert client.get("/exercises/jacobian-shape?course=beta").status_code == 404
    with client.application.app_context():
        assert db.session.scalar(select(Submission.id)) is None  # nothing was stored
    client.post("/logout")
    sign_in(client, "ben@example.org")  # enrolled in beta only
    listing = client.get("/exercises").get_data(as_text=True)
    assert "jacobian-shape" in listing and SQUARED in listing
    assert client.get(f"/exercises/{SQUARED}").status_code == 200
    sid = submission_id(client.post("/exercises/jacobian-shape", data=ANSWERS))
    assert client.get(f"/submissions/{sid}").status_code == 200
    with client.application.app_context():
        row = db.session.get(Submission, sid)
        assert row.assignment.course.slug == "beta" and row.attempt == 1


def test_a_student_enrolled_in_two_courses_chooses_the_course(client, beta):
    with client.application.app_context():
        enrol(course_by_slug("beta"), db.session.get(User, beta["ben"]), "student")
        enrol(default_course(), db.session.get(User, beta["ben"]), "student")
        db.session.commit()
    sign_in(client, "ben@example.org")
    page = client.get("/exercises/jacobian-shape?course=beta").get_data(as_text=True)
    assert "/exercises/jacobian-shape?course=beta" in page  # the form posts to the same course
    in_beta = submission_id(client.post("/exercises/jacobian-shape?course=beta", data=ANSWERS))
    in_default = submission_id(
        client.post("/exercises/jacobian-shape?course=default", data=ANSWERS)
    )
    # without ?course=, the class's course rather than default (where everyone is enrolled)
    unnamed = submission_id(client.post("/exercises/jacobian-shape", data=ANSWERS))
    with client.application.app_context():
        slugs = [
            db.session.get(Submission, sid).assignment.course.slug
            for sid in (in_beta, in_default, unnamed)
        ]
    assert slugs == ["beta", "default", "beta"]
    assert client.get("/exercises/jacobian-shape?course=no-such").status_code == 404


def test_instructors_see_only_submissions_of_the_courses_they_teach(client, beta):
    sign_in(client, "ben@example.org")
    in_beta = submission_id(client.post("/exercises/jacobian-shape", data=ANSWERS))
    client.post("/logout")
    sign_in(client, "student@example.org")
    in_default = submission_id(client.post("/exercises/jacobian-shape", data=ANSWERS))
    client.post("/logout")

    sign_in(client, "teacher@example.org")  # teaches default
    assert client.get(f"/instructor/submissions/{in_default}").status_code == 200
    assert client.get(f"/submissions/{in_default}").status_code == 200
    for path in (f"/instructor/submissions/{in_beta}", f"/submissions/{in_beta}"):
        assert client.get(path).status_code == 404, path
    assert client.get("/instructor").status_code == 200
    client.post("/logout")

    sign_in(client, "bea@example.org")  # teaches beta only
    assert client.get(f"/instructor/submissions/{in_beta}").status_code == 200
    response = client.post(
        f"/instructor/submissions/{in_default}/parts/shape/review", data={"score": "1"}
    )
    assert response.status_code == 404
    for path in (
        f"/instructor/submissions/{in_default}",
        f"/submissions/{in_default}",
        "/instructor",  # the default course's pages
        "/instructor/gradebook.csv",
        "/instructor/exercises/jacobian-shape/submissions",
    ):
        assert client.get(path).status_code == 404, path
    client.post("/logout")

    sign_in(client, "root@example.org")  # a site admin sees everything
    for sid in (in_beta, in_default):
        assert client.get(f"/instructor/submissions/{sid}").status_code == 200


def test_the_access_helpers(imported, beta, users):
    with imported.app_context():
        ben, bea, root = (db.session.get(User, beta[n]) for n in ("ben", "bea", "root"))
        teacher = db.session.get(User, users["instructor"])
        course, default = course_by_slug("beta"), default_course()
        assert [c.slug for c in courses_of(ben)] == ["beta"]
        assert [c.slug for c in courses_of(root)] == ["beta", "default"]
        assert courses_of(ben, ("instructor", "ta")) == []
        assert can_manage(bea, course) and not can_manage(bea, default)
        assert can_manage(teacher, default) and not can_manage(teacher, course)
        assert can_manage(root, course) and not can_manage(ben, course)
        assert require_enrolment(ben, course) == "student"
        with pytest.raises(NoAccess):
            require_enrolment(ben, course, ("instructor",))
        with pytest.raises(NoAccess):
            require_enrolment(ben, default)
