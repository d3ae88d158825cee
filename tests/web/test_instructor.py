"""Instructor pages: role checks, dashboard charts, lists with filters, review, CSV, import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from grader.extensions import db
from grader.models import Submission, User
from grader.services.exercises import ExerciseNotFound, current_version
from tests.web.conftest import ANSWERS, PASSWORD, sign_in, submission_id

INSTRUCTOR_PAGES = [
    "/instructor",
    "/instructor/exercises/jacobian-shape/submissions",
    "/instructor/submissions/1",
    "/instructor/gradebook.csv",
    "/instructor/import",
]


def _answer_as(client, email, data):
    client.post("/logout")
    sign_in(client, email)
    return submission_id(client.post("/exercises/jacobian-shape", data=data))


def _needs_review_submission(app, user_email="student@example.org") -> int:
    """Store a submission whose second part waits for review (as a text part would)."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == user_email))
        row = Submission(
            user_id=user.id,
            exercise_version_id=current_version("jacobian-shape").id,
            answers={"shape": "n×m", "dh_dz": "it is diagonal"},
            seed=1,
            status="needs_review",
            score=1.0,
            max_score=6.0,
            source="web",
            parts=[
                {
                    "id": "shape",
                    "score": 1.0,
                    "max_score": 1.0,
                    "correct": True,
                    "feedback": "Correct.",
                    "status": "graded",
                    "diagnosis": "correct",
                    "details": {},
                },
                {
                    "id": "dh_dz",
                    "score": 0.0,
                    "max_score": 1.0,
                    "correct": False,
                    "feedback": "An instructor will read this answer.",
                    "status": "needs_review",
                    "diagnosis": "needs-review",
                    "details": {},
                },
            ],
        )
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.mark.parametrize("path", INSTRUCTOR_PAGES)
def test_students_get_403_on_instructor_pages(student, path):
    response = student.get(path)
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_students_cannot_post_reviews_or_imports(imported, student):
    sid = _needs_review_submission(imported)
    assert (
        student.post(
            f"/instructor/submissions/{sid}/parts/dh_dz/review", data={"score": "1"}
        ).status_code
        == 403
    )
    assert student.post("/instructor/import", data={}).status_code == 403


def test_instructor_nav_links_only_for_instructors(client, users):
    sign_in(client, "student@example.org")
    assert "/instructor" not in client.get("/exercises").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, "teacher@example.org")
    assert 'href="/instructor"' in client.get("/exercises").get_data(as_text=True)


def test_dashboard_shows_distribution_and_frequent_mistakes(client, users):
    _answer_as(client, "student@example.org", ANSWERS)  # 2 / 6, do_dh: mistake 0
    _answer_as(client, "other@example.org", {"answer-shape": "m×n", "answer-do_dh": "h×q"})
    _answer_as(client, "other@example.org", {"answer-shape": "n×m"})
    client.post("/logout")
    sign_in(client, "teacher@example.org")
    page = client.get("/instructor").get_data(as_text=True)
    assert "<svg" in page and 'role="img"' in page
    assert "Best scores of 2 students" in page
    assert "<strong>3</strong> submissions" in page
    assert "listed mistake: h×q" in page and "listed mistake: m×n" in page
    assert "<title>listed mistake: h×q: 2</title>" in page  # counted over both students
    assert "✓ 2 of 3 graded" in page  # part shape: two right answers out of three
    assert "<title>no answer" not in page  # an unanswered part is not a mistake


def test_dashboard_without_submissions(instructor):
    page = instructor.get("/instructor").get_data(as_text=True)
    assert "No submissions yet." in page


def test_submission_list_filters(client, users, imported):
    _answer_as(client, "student@example.org", ANSWERS)
    _answer_as(client, "other@example.org", ANSWERS)
    review = _needs_review_submission(imported, "other@example.org")
    client.post("/logout")
    sign_in(client, "teacher@example.org")
    base = "/instructor/exercises/jacobian-shape/submissions"
    page = client.get(base).get_data(as_text=True)
    assert "3 submissions match" in page
    assert "1 submission match" in client.get(base + "?user=STUDENT@").get_data(as_text=True)
    by_status = client.get(base + "?status=needs_review").get_data(as_text=True)
    assert "1 submission match" in by_status and f"/instructor/submissions/{review}" in by_status
    today = datetime.now(UTC).date().isoformat()
    assert "3 submissions match" in client.get(f"{base}?from={today}&to={today}").get_data(
        as_text=True
    )
    assert "0 submissions match" in client.get(f"{base}?to=2001-01-01").get_data(as_text=True)
    # unreadable filters are ignored rather than failing
    assert client.get(f"{base}?from=yesterday&status=bogus").status_code == 200
    assert client.get("/instructor/exercises/nope/submissions").status_code == 404


def test_instructor_sees_any_submission_in_full(client, users):
    sid = _answer_as(client, "student@example.org", ANSWERS)
    client.post("/logout")
    sign_in(client, "teacher@example.org")
    page = client.get(f"/instructor/submissions/{sid}").get_data(as_text=True)
    assert "student@example.org" in page and "seed" in page and "W₂ᵀ" in page
    assert "Grade this part" not in page  # nothing waits for review
    assert client.get(f"/submissions/{sid}").status_code == 200
    assert client.get("/instructor/submissions/999").status_code == 404


def test_grading_a_needs_review_part(imported, instructor):
    sid = _needs_review_submission(imported)
    page = instructor.get(f"/instructor/submissions/{sid}").get_data(as_text=True)
    assert "◷ waiting for an instructor’s review" in page and "Grade this part" in page
    assert '<label for="score-dh_dz">' in page
    response = instructor.post(
        f"/instructor/submissions/{sid}/parts/dh_dz/review",
        data={"score": "0.5", "feedback": "Half: name the diagonal."},
    )
    assert response.status_code == 303
    with imported.app_context():
        row = db.session.get(Submission, sid)
        assert row.status == "graded" and row.score == 1.5
        part = row.parts[1]
        assert part["score"] == 0.5 and part["status"] == "graded" and not part["correct"]
        assert part["feedback"] == "Half: name the diagonal."
        assert part["reviewed_by"] == "teacher@example.org" and part["reviewed_at"]
    page = instructor.get(f"/instructor/submissions/{sid}").get_data(as_text=True)
    assert "Graded by teacher@example.org" in page and "Change the grade" in page
    # a second review replaces the first
    instructor.post(f"/instructor/submissions/{sid}/parts/dh_dz/review", data={"score": "1"})
    with imported.app_context():
        row = db.session.get(Submission, sid)
        assert row.score == 2.0 and row.parts[1]["correct"]


@pytest.mark.parametrize(
    "part,score,message",
    [
        ("dh_dz", "2", "from 0 to 1"),
        ("dh_dz", "-1", "from 0 to 1"),
        ("dh_dz", "nan", "from 0"),
        ("dh_dz", "lots", "as a number"),
        ("shape", "1", "graded automatically"),
        ("nope", "1", "has no part"),
    ],
)
def test_invalid_reviews_are_refused(imported, instructor, part, score, message):
    sid = _needs_review_submission(imported)
    response = instructor.post(
        f"/instructor/submissions/{sid}/parts/{part}/review", data={"score": score}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with imported.app_context():
        assert db.session.get(Submission, sid).status == "needs_review"


def test_review_of_unknown_submission_is_404(instructor):
    assert (
        instructor.post(
            "/instructor/submissions/999/parts/a/review", data={"score": "1"}
        ).status_code
        == 404
    )


def test_student_sees_the_review(imported, client, users):
    sid = _needs_review_submission(imported)
    sign_in(client, "teacher@example.org")
    client.post(
        f"/instructor/submissions/{sid}/parts/dh_dz/review",
        data={"score": "1", "feedback": "Well argued."},
    )
    client.post("/logout")
    sign_in(client, "student@example.org")
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Well argued." in page and "Score <strong>2 / 6</strong>" in page
    assert "Grade this part" not in page


def test_gradebook_csv(client, users, imported):
    _answer_as(client, "student@example.org", {"answer-shape": "m×n"})
    _answer_as(client, "student@example.org", ANSWERS)
    _answer_as(client, "other@example.org", {"answer-shape": "n×m"})
    with imported.app_context():  # a user whose email would be a spreadsheet formula
        from grader.services.users import create_user

        create_user("=cmd@example.org", "student", PASSWORD)
    _answer_as(client, "=cmd@example.org", {"answer-shape": "n×m"})
    client.post("/logout")
    sign_in(client, "teacher@example.org")
    response = client.get("/instructor/gradebook.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_user = {row["email"]: row for row in rows}
    assert set(by_user) == {"student@example.org", "other@example.org", "'=cmd@example.org"}
    assert by_user["student@example.org"]["best_score"] == "2.0"
    assert by_user["student@example.org"]["submissions"] == "2"
    assert by_user["other@example.org"]["best_score"] == "1.0"
    assert all(row["exercise"] == "jacobian-shape" and row["max_score"] == "6.0" for row in rows)


GOOD = """slug: tiny
title: A tiny exercise
parts:
  - id: pick
    kind: choice
    options: [{id: a, text: A}, {id: b, text: B}]
    answer: [a]
"""
BAD = """slug: broken
title: Broken
parts:
  - id: pick
    kind: choice
    options: [{id: a, text: A}, {id: b, text: B}]
    answer: [c]
  - id: 2bad
    kind: nonsense
"""


def _upload(client, *files):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files]}
    return client.post("/instructor/import", data=data, content_type="multipart/form-data")


def test_import_form(instructor, imported):
    page = instructor.get("/instructor/import").get_data(as_text=True)
    assert '<label for="files">' in page and 'type="file"' in page
    response = _upload(instructor, ("tiny.yaml", GOOD))
    assert response.status_code == 200 and "New: tiny" in response.get_data(as_text=True)
    again = _upload(instructor, ("tiny.yaml", GOOD))
    assert "Unchanged: tiny" in again.get_data(as_text=True)
    changed = _upload(instructor, ("tiny.yaml", GOOD.replace("A tiny", "A small")))
    assert "New version: tiny" in changed.get_data(as_text=True)
    assert "A small exercise" in instructor.get("/exercises").get_data(as_text=True)


def test_import_errors_name_file_line_and_field(instructor, imported):
    response = _upload(instructor, ("tiny.yaml", GOOD), ("../broken.yaml", BAD))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "<td>../broken.yaml</td>" in page  # the name the instructor chose, shown escaped
    assert "<code>parts[1].kind</code>" in page and "unknown kind" in page
    assert "<td>9</td>" in page  # the line of `kind: nonsense`
    with imported.app_context():
        with pytest.raises(ExerciseNotFound):
            current_version("tiny")  # atomic: the good file was not imported either
    yaml_error = _upload(instructor, ("x.yaml", "slug: [unclosed"))
    assert yaml_error.status_code == 422 and "not valid YAML" in yaml_error.get_data(as_text=True)
    nothing = instructor.post("/instructor/import", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Choose one or more" in nothing.get_data(as_text=True)


def test_submission_list_loads_users_and_versions_in_the_same_query(client, users, imported):
    _answer_as(client, "student@example.org", ANSWERS)
    _answer_as(client, "other@example.org", ANSWERS)
    from sqlalchemy import event

    from grader.models import Exercise
    from grader.services.dashboard import SubmissionFilter, list_submissions

    with imported.app_context():
        db.session.expunge_all()  # nothing cached: every user and version must come from SQL
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "jacobian-shape"))
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            rows, total = list_submissions(exercise, SubmissionFilter())
            shown = {(row.user.email, row.version.number) for row in rows}
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert total == 2 and shown == {("student@example.org", 1), ("other@example.org", 1)}
    assert len(statements) == 2, statements  # the count, then the page with users and versions


def test_import_lists_every_problem_of_every_file_with_self_test_failures(instructor, imported):
    """Issue 19, item 12: every stage's problems of every part, and another file's self-test
    failures, in one list with file, line and field."""
    from pathlib import Path

    from tests.conftest import EXERCISES

    many = (Path(__file__).parents[1] / "fixtures" / "many-problems.yaml").read_text()
    wrong = (EXERCISES / "jacobian-shape.yaml").read_text(encoding="utf-8")
    wrong += '  - {part: shape, answer: "m×n", correct: true}\n'
    response = _upload(instructor, ("many.yaml", many), ("wrong.yaml", wrong))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    rows = page.count("<tr><td>")
    assert rows == 8, page  # seven in many.yaml, one self-test failure in wrong.yaml
    for field in ("title", "parts[1]", "parts[2].kind", "parts[3].id", "parts[3].answer"):
        assert f"<code>{field}</code>" in page
    assert "<td>wrong.yaml</td>" in page and "self-test of part &#39;shape&#39;" in page
    assert "<td>22</td>" in page  # the line of the undeclared size
