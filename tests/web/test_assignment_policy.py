"""An assignment's policy through the web form: attempts, dates in the course's time zone,
late submissions, counted scores and feedback levels (issue 16)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from grader.extensions import db
from grader.models import Submission, utcnow
from grader.services.courses import assignment_for, default_course
from grader.services.exercises import import_exercises
from tests.conftest import EXERCISES
from tests.web.conftest import ANSWERS, sign_in, submission_id

FULL = {
    "answer-shape": "n×m",
    "answer-dh_dz": "h×h",
    "answer-do_dh": "q×h",
    "answer-do_dW2": "q×q×h",
    "answer-dJ_dW1": "h×d",
    "answer-vector_or_matrix": ["dJ_db1", "dJ_do"],
}
URL = "/exercises/jacobian-shape"


def set_policy(app, time_zone=None, **fields):
    with app.app_context():
        assignment = assignment_for(default_course(), "jacobian-shape")
        for name, value in fields.items():
            setattr(assignment, name, value)
        if time_zone:
            assignment.course.time_zone = time_zone
        db.session.commit()


def stored(app) -> list[Submission]:
    with app.app_context():
        return list(db.session.scalars(select(Submission).order_by(Submission.id)))


def test_the_last_attempt_used_keeps_the_form_and_shows_a_banner(imported, student):
    set_policy(imported, max_attempts=1)
    page = student.get(URL).get_data(as_text=True)
    assert "Attempts: 0 of 1 used" in page
    assert student.post(URL, data={"answer-shape": "n×?"}).status_code == 422  # costs none
    assert student.post(URL, data=ANSWERS).status_code == 303
    refused = student.post(URL, data=FULL)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "You have used all 1 attempt of this assignment; nothing was recorded." in page
    assert 'value="q×q×h"' in page  # the form keeps the answers
    assert "Attempts: 1 of 1 used" in page and 'class="banner error"' in page
    assert len(stored(imported)) == 1


def test_dates_show_in_the_course_time_zone_and_a_closed_assignment_refuses(imported, student):
    close = utcnow().replace(microsecond=0) - timedelta(hours=1)
    set_policy(imported, time_zone="Europe/Berlin", closes_at=close)
    page = student.get(URL).get_data(as_text=True)
    local = (close + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")  # CET in December
    assert f"This assignment closed at {local} CET" in page
    refused = student.post(URL, data=FULL)
    assert refused.status_code == 409
    assert "submissions are no longer accepted and nothing was recorded" in refused.get_data(
        as_text=True
    )
    set_policy(imported, closes_at=None, opens_at=utcnow() + timedelta(days=1))
    assert student.post(URL, data=FULL).status_code == 409
    assert stored(imported) == []


def test_a_late_submission_is_marked_and_counts_less(imported, student):
    now = utcnow()
    set_policy(
        imported,
        time_zone="Europe/Berlin",
        due_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        late_penalty=0.5,
    )
    page = student.get(URL).get_data(as_text=True)
    assert "Past the due time" in page and "loses 50 % of its score" in page
    response = student.post(URL, data=FULL)
    assert response.status_code == 303
    assert [s.late for s in stored(imported)] == [True]
    result = student.get(response.headers["Location"]).get_data(as_text=True)
    assert "· attempt 1" in result and "· <strong>late</strong>" in result
    assert re.search(r"submitted \d{4}-\d\d-\d\d \d\d:\d\d CET", result)  # course zone
    listing = student.get("/exercises").get_data(as_text=True)
    row = re.search(r"Shapes of gradients.*?</tr>", listing, re.S).group(0)
    assert "3 / 6" in row  # 6 of 6, halved


def test_the_exercise_list_counts_by_the_score_policy(imported, student):
    set_policy(imported, score_policy="last", points=12.0)
    student.post(URL, data=FULL)
    student.post(URL, data=ANSWERS)
    listing = student.get("/exercises").get_data(as_text=True)
    row = re.search(r"Shapes of gradients.*?</tr>", listing, re.S).group(0)
    assert "4 / 12" in row  # the last one counts (2 of 6 → 4 of 12 points), not the best


def test_feedback_levels_on_the_result_page(imported, client, users):
    assert sign_in(client, "student@example.org").status_code == 302
    set_policy(imported, feedback="hints")
    sid = submission_id(client.post(URL, data=ANSWERS))
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Your shape has the right sizes in the opposite order." in page
    assert "W₂ᵀ" not in page and "✗ not correct" in page
    set_policy(imported, feedback="score-only")
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "W₂ᵀ" not in page and "opposite order" not in page
    assert "Score <strong>2 / 6</strong>" in page and "✓ correct" in page
    client.post("/logout")
    assert sign_in(client, "teacher@example.org").status_code == 302
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "W₂ᵀ" in page  # instructors always see the full feedback


def test_an_author_s_hint_shows_at_the_hints_level(imported, client, users):
    with imported.app_context():
        import_exercises([EXERCISES / "memory-footprint.yaml"])
        assignment_for(default_course(), "memory-footprint").feedback = "hints"
        db.session.commit()
    assert sign_in(client, "student@example.org").status_code == 302
    left_out = "h*d + h + q*h + q + d*n + 2*h*n + 2*q*n"  # the first listed mistake
    sid = submission_id(
        client.post("/exercises/memory-footprint", data={"answer-training": left_out})
    )
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Your count leaves out the gradient buffers of the parameters." in page
    assert "another hd + h + qh + q floats" not in page  # the full feedback, which counts them
