"""Student pages: the list, the form, submitting, feedback, history, preview, ownership."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Submission
from tests.web.conftest import ANSWERS, sign_in, submission_id


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def test_exercise_list_shows_best_score_and_attempts(student):
    page = student.get("/exercises").get_data(as_text=True)
    assert "Shapes of gradients and Jacobians" in page and "not tried" in page
    student.post("/exercises/jacobian-shape", data=ANSWERS)
    student.post("/exercises/jacobian-shape", data={"answer-shape": "m×n"})
    page = student.get("/exercises").get_data(as_text=True)
    row = re.search(r"Shapes of gradients.*?</tr>", page, re.S).group(0)
    assert "2 / 6" in row and "<td>2</td>" in row


def test_exercise_page_has_one_labelled_input_per_part(student):
    page = student.get("/exercises/jacobian-shape").get_data(as_text=True)
    for part in ("shape", "dh_dz", "do_dh", "do_dW2", "dJ_dW1"):
        assert f'<label for="answer-{part}">' in page and f'id="answer-{part}"' in page
    # the choice part allows several options: checkboxes, each with its label
    assert page.count('type="checkbox"') == 4
    assert '<label for="answer-vector_or_matrix-dJ_do">' in page
    assert "<math alttext=" in page  # the prompt's $...$ as MathML, named
    assert "answer-shape" in page and "e.g. a×b" in page


def test_submit_shows_feedback_per_part(imported, student):
    response = student.post("/exercises/jacobian-shape", data=ANSWERS)
    assert response.status_code == 303
    page = student.get(response.headers["Location"]).get_data(as_text=True)
    assert "Score <strong>2 / 6</strong>" in page
    assert "✓ correct" in page and "✗ not correct" in page
    assert "W₂ᵀ" in page  # the listed mistake's feedback
    assert "No answer." in page and "– not answered" in page
    with imported.app_context():
        row = db.session.get(Submission, submission_id(response))
        assert row.source == "web" and row.answers["vector_or_matrix"] == ["dJ_db1", "dJ_do"]
        assert "dh_dz" not in row.answers  # unanswered parts are not stored as empty strings


def test_unreadable_answer_re_shows_the_form_and_stores_nothing(imported, student):
    response = student.post(
        "/exercises/jacobian-shape",
        data={"answer-shape": "n×?", "answer-do_dh": "q×h", "answer-vector_or_matrix": ["dJ_do"]},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "nothing was recorded" in page
    assert 'value="n×?"' in page and 'value="q×h"' in page  # inputs kept
    assert re.search(r'value="dJ_do"\s+checked', page)
    assert 'id="error-shape"' in page and "Cannot read" in page
    assert 'aria-invalid="true"' in page
    assert _count(imported) == 0


def test_empty_form_is_refused(imported, student):
    response = student.post("/exercises/jacobian-shape", data={"answer-shape": "  "})
    assert response.status_code == 422
    assert "Answer at least one part" in response.get_data(as_text=True)
    assert _count(imported) == 0


def test_too_long_answer_is_a_message_not_an_error(imported, student):
    response = student.post("/exercises/jacobian-shape", data={"answer-shape": "n" * 200_000})
    assert response.status_code in (413, 422)
    assert _count(imported) == 0


def test_try_again_fills_in_the_earlier_answers(student):
    sid = submission_id(student.post("/exercises/jacobian-shape", data=ANSWERS))
    page = student.get(f"/exercises/jacobian-shape?from={sid}").get_data(as_text=True)
    assert 'value="h×q"' in page and re.search(r'value="dJ_db1"\s+checked', page)


def test_a_student_never_sees_another_students_submission(client, users):
    sign_in(client, "other@example.org")
    sid = submission_id(client.post("/exercises/jacobian-shape", data=ANSWERS))
    client.post("/logout")
    sign_in(client, "student@example.org")
    for path in (
        f"/submissions/{sid}",
        f"/submissions/{sid}/status",
        f"/exercises/jacobian-shape?from={sid}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path  # as if there were none: nothing revealed
        assert "Not found" in response.get_data(as_text=True)
    assert "jacobian" not in client.get("/me").get_data(as_text=True).lower()


def test_history_lists_own_submissions_newest_first(student):
    first = submission_id(student.post("/exercises/jacobian-shape", data={"answer-shape": "m×n"}))
    second = submission_id(student.post("/exercises/jacobian-shape", data=ANSWERS))
    page = student.get("/me").get_data(as_text=True)
    assert page.index(f"/submissions/{second}") < page.index(f"/submissions/{first}")
    assert "0 / 6" in page and "2 / 6" in page


def test_history_is_paginated(student, monkeypatch):
    import grader.web.student as student_views

    monkeypatch.setattr(student_views, "PER_PAGE", 1)
    for _ in range(2):
        student.post("/exercises/jacobian-shape", data=ANSWERS)
    page = student.get("/me").get_data(as_text=True)
    assert "Page 1 of 2" in page and "/me?page=2" in page
    assert "Page 2 of 2" in student.get("/me?page=2").get_data(as_text=True)


def test_status_endpoint_and_queued_page_polls(imported, student):
    sid = submission_id(student.post("/exercises/jacobian-shape", data=ANSWERS))
    assert student.get(f"/submissions/{sid}/status").json == {
        "status": "graded",
        "score": 2.0,
        "max_score": 6.0,
    }
    with imported.app_context():
        db.session.get(Submission, sid).status = "queued"
        db.session.commit()
    page = student.get(f"/submissions/{sid}").get_data(as_text=True)
    assert f'data-poll-url="/submissions/{sid}/status"' in page and "poll.js" in page
    assert student.get(f"/submissions/{sid}/status").json["status"] == "queued"


def test_preview_reads_answers_like_the_api(student):
    url = "/exercises/jacobian-shape/preview"
    ok = student.post(url, json={"part": "shape", "answer": "(n, m)"})
    assert ok.status_code == 200 and ok.json["valid"] and ok.json["source"] == "n×m"
    bad = student.post(url, json={"part": "shape", "answer": "n×?"})
    assert bad.status_code == 200 and not bad.json["valid"]
    assert "Cannot read" in bad.json["error"]["message"]
    choice = student.post(url, json={"part": "vector_or_matrix", "answer": "a"})
    assert choice.status_code == 422 and "no preview" in choice.json["error"]["message"]
    unknown = student.post(url, json={"part": "nope", "answer": "x"})
    assert unknown.status_code == 422 and "No part 'nope'" in unknown.json["error"]["message"]
    assert student.post(url, data="x").status_code == 400
    assert student.post(url, json={"part": "shape", "answer": 3}).status_code == 400
    assert (
        student.post("/exercises/nope/preview", json={"part": "a", "answer": "x"}).status_code
        == 404
    )
    empty = student.post(url, json={"part": "shape", "answer": "  "})
    assert empty.json == {"part": "shape", "valid": True, "source": ""}


def test_preview_needs_sign_in(client, imported):
    response = client.post(
        "/exercises/jacobian-shape/preview", json={"part": "shape", "answer": "n"}
    )
    assert response.status_code == 302


def test_unknown_submission_is_404(student):
    assert student.get("/submissions/12345").status_code == 404
    assert student.get("/submissions/12345/status").status_code == 404


def test_history_page_queries_do_not_grow_with_the_exercises(imported, student, users):
    from grader.models import User
    from grader.services.exercises import import_exercises
    from grader.services.grading import submit
    from tests.api.helpers import statements_of
    from tests.conftest import EXERCISES

    def store(slug: str) -> None:
        with imported.app_context():
            submit(slug, db.session.get(User, users["student"]), {}, "web")

    store("jacobian-shape")
    one = statements_of(imported, lambda: student.get("/me"))
    with imported.app_context():
        import_exercises([EXERCISES / "memory-footprint.yaml", EXERCISES / "graph-bias.yaml"])
    store("memory-footprint")
    store("graph-bias")
    responses = []
    three = statements_of(imported, lambda: responses.append(student.get("/me")))
    page = responses[0].get_data(as_text=True)
    assert page.count("/submissions/") >= 3
    assert len(three) == len(one), three
