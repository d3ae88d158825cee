"""LTI Advantage against the Open edX platform: Deep Linking, grade passback (AGS) from every
grade change, reliable when the platform fails, and the roster (NRPS)."""

from __future__ import annotations

import re
import threading
import urllib.parse
import urllib.request
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select, update

from grader.extensions import db
from grader.lti.ags import UNSENT_AFTER, resend_ids, send
from grader.lti.models import LtiContext, LtiPassback
from grader.models import Submission
from grader.services.events import GRADE_CHANGED
from grader.services.results import record_parts
from tests.conftest import PG_URL
from tests.lti.conftest import launch

ANSWERS = {
    "answer-shape": "n×m",
    "answer-do_dh": "h×q",
    "answer-vector_or_matrix": ["dJ_db1", "dJ_do"],
}
WRONG = {"answer-shape": "m×n"}


def passbacks(app) -> list[tuple[str, int, float | None]]:
    with app.app_context():
        rows = db.session.scalars(select(LtiPassback).order_by(LtiPassback.id))
        return [(p.state, p.attempts, p.score_given) for p in rows]


def test_deep_linking_answers_the_platform_with_signed_resource_links(app, client, platform):
    response = launch(client, platform, role="instructor", deep_linking=True, exercise=None)
    assert response.status_code == 302 and response.headers["Location"].endswith("/lti/deep-link")
    picker = client.get("/lti/deep-link")
    assert picker.status_code == 200 and "jacobian-shape" in picker.get_data(as_text=True)
    assert client.post("/lti/deep-link", data={}).status_code == 400  # nothing chosen
    answer = client.post("/lti/deep-link", data={"exercise": ["jacobian-shape"]})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f"form-action 'self' {platform.base}" in answer.headers["Content-Security-Policy"]
    action = re.search(r'action="([^"]+)" id="lti-return"', page).group(1)
    token = re.search(r'name="JWT" value="([^"]+)"', page).group(1)
    assert action == platform.base + "/deep-link-return"
    body = urllib.parse.urlencode({"JWT": token}).encode()
    with urllib.request.urlopen(action, data=body, timeout=10) as reply:  # the browser's post
        assert reply.status == 200
    # The platform's library checked the signature against the tool's JWKS (over HTTP).
    [items] = platform.deep_link_items
    assert items == [
        {
            "type": "ltiResourceLink",
            "title": items[0]["title"],
            "url": "http://localhost/lti/launch",  # the test client's host
            "custom": {"exercise": "jacobian-shape"},
            "lineItem": {
                "scoreMaximum": items[0]["lineItem"]["scoreMaximum"],
                "label": items[0]["title"],
                "resourceId": "jacobian-shape",
            },
        }
    ]
    assert items[0]["lineItem"]["scoreMaximum"] > 0
    assert client.get("/lti/deep-link").status_code == 403  # used up


def test_a_student_may_not_deep_link(app, client, platform):
    response = launch(client, platform, role="student", deep_linking=True, exercise=None)
    assert response.status_code == 400
    assert "Only instructors" in response.get_data(as_text=True)


def test_a_graded_submission_is_posted_to_the_line_item(app, client, platform):
    assert launch(client, platform).status_code == 302
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    assert client.post("/exercises/jacobian-shape", data=ANSWERS).status_code == 303
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    first, best, after = platform.scores
    assert first["userId"] == "student-1" and first["gradingProgress"] == "FullyGraded"
    assert first["activityProgress"] == "Completed"
    assert best["scoreMaximum"] >= best["scoreGiven"] > first["scoreGiven"]
    assert after["scoreGiven"] == best["scoreGiven"]  # the best score counts
    assert first["timestamp"] < best["timestamp"] < after["timestamp"]
    assert [s for s, _, _ in passbacks(app)] == ["sent", "sent", "sent"]
    assert platform.token_requests == 1  # the access token is reused
    with app.app_context():  # the submissions went to the LMS course's assignment
        [context] = db.session.scalars(select(LtiContext))
        for submission in db.session.scalars(select(Submission)):
            assert submission.assignment.course_id == context.course_id


def test_the_lms_teacher_sees_the_course_gradebook_and_the_students_submission(
    app, client, platform
):
    assert launch(client, platform).status_code == 302
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    teacher = app.test_client()
    assert launch(teacher, platform, user_id="teacher-9", role="instructor").status_code == 302
    with app.app_context():
        [context] = db.session.scalars(select(LtiContext))
        slug = context.course.slug
        [submission] = db.session.scalars(select(Submission))
        submission_id = submission.id
    courses = teacher.get("/instructor/courses")  # the site role is student: the LMS's teacher
    assert courses.status_code == 200 and f"/instructor/courses/{slug}" in courses.text
    book = teacher.get(f"/instructor/courses/{slug}/gradebook")
    assert book.status_code == 200 and "student-1" in book.text
    detail = teacher.get(f"/instructor/submissions/{submission_id}")
    assert detail.status_code == 200 and f"Gradebook of {slug}" in detail.text
    assert teacher.get("/instructor/courses/new").status_code == 403
    assert client.get(f"/instructor/courses/{slug}/gradebook").status_code == 403  # the student


def test_a_platform_that_fails_then_recovers_gets_the_score(app, client, platform, runner):
    assert launch(client, platform).status_code == 302
    platform.token_failures = 1
    assert client.post("/exercises/jacobian-shape", data=ANSWERS).status_code == 303
    assert platform.scores == []
    [(state, attempts, score)] = passbacks(app)
    assert (state, attempts) == ("failed", 1) and score is not None
    listed = runner.invoke(args=["lti", "passback", "list"])
    assert "failed" in listed.output and "503" in listed.output
    result = runner.invoke(args=["lti", "passback", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    [posted] = platform.scores
    assert posted["scoreGiven"] == score
    assert passbacks(app) == [("sent", 2, score)]


def test_a_passback_commits_with_its_grade_and_one_never_queued_is_resent(
    app, client, platform, runner
):
    assert launch(client, platform).status_code == 302
    app.extensions[GRADE_CHANGED] = []  # the process stops between the commit and the queueing
    assert client.post("/exercises/jacobian-shape", data=ANSWERS).status_code == 303
    assert platform.scores == []
    [(state, attempts, score)] = passbacks(app)
    assert (state, attempts) == ("pending", 0) and score is not None
    with app.app_context():
        [passback] = db.session.scalars(select(LtiPassback))
        assert resend_ids() == []  # just committed: its queueing may still be under way
        later = passback.created_at + UNSENT_AFTER + timedelta(seconds=1)
        assert resend_ids(later) == [passback.id]
        passback.created_at -= UNSENT_AFTER + timedelta(seconds=1)
        db.session.commit()
    result = runner.invoke(args=["lti", "passback", "retry"])
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    assert [s["scoreGiven"] for s in platform.scores] == [score]


def test_a_rolled_back_grade_leaves_no_passback(app, client, platform):
    assert launch(client, platform).status_code == 302
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        record_parts(submission, [dict(p, score=1.0) for p in submission.parts])
        count = select(func.count()).select_from(LtiPassback)
        assert db.session.scalar(count) == 2  # written in the grading transaction
        db.session.rollback()
        assert db.session.scalar(count) == 1


def test_a_newer_grade_supersedes_an_unsent_one(app, client, platform, runner):
    assert launch(client, platform).status_code == 302
    platform.token_failures = 1
    client.post("/exercises/jacobian-shape", data=WRONG)
    client.post("/exercises/jacobian-shape", data=ANSWERS)
    assert [s for s, _, _ in passbacks(app)] == ["superseded", "sent"]
    assert runner.invoke(args=["lti", "passback", "retry"]).exit_code == 0
    assert len(platform.scores) == 1


@pytest.mark.skipif(not PG_URL, reason="row locks held by another connection: PostgreSQL")
def test_a_passback_being_sent_does_not_hold_up_a_new_grade(
    app, client, platform, runner, database_url
):
    assert launch(client, platform).status_code == 302
    platform.token_failures = 1
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    [(state, _, _)] = passbacks(app)
    assert state == "failed"
    # A sender (`send`) keeps its passback's row locked while it calls the platform.
    with psycopg.connect(database_url) as sender:
        sender.execute("SELECT id FROM lti_passbacks FOR UPDATE")
        # the new grade is stored, and its passback sent, without waiting for that row
        assert client.post("/exercises/jacobian-shape", data=ANSWERS).status_code == 303
        assert [s for s, _, _ in passbacks(app)] == ["failed", "sent"]
    # the old one, retried, finds the newer passback and is not sent over it
    assert runner.invoke(args=["lti", "passback", "retry"]).exit_code == 0
    assert [s for s, _, _ in passbacks(app)] == ["superseded", "sent"]
    assert len(platform.scores) == 1


@pytest.mark.skipif(not PG_URL, reason="row locks held by another connection: PostgreSQL")
def test_two_senders_never_post_one_passback_twice(app, client, platform, database_url):
    assert launch(client, platform).status_code == 302
    platform.token_failures = 1
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    [(state, _, _)] = passbacks(app)
    assert state == "failed" and platform.scores == []
    result: list[tuple[str, bool]] = []

    def second_sender() -> None:
        with app.app_context():
            [passback_id] = resend_ids()
            result.append(send(passback_id))

    # the first sender holds the row while it posts, then records it sent
    with psycopg.connect(database_url) as first:
        first.execute("SELECT id FROM lti_passbacks FOR UPDATE")
        thread = threading.Thread(target=second_sender)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive()  # waits for the row instead of posting it again
        first.execute("UPDATE lti_passbacks SET state = 'sent'")
    thread.join(timeout=10)
    assert result == [("sent", False)]
    assert platform.scores == []  # the second sender posted nothing


def test_send_reads_the_passback_again_not_the_session_s_copy(app, client, platform):
    assert launch(client, platform).status_code == 302
    platform.token_failures = 1
    assert client.post("/exercises/jacobian-shape", data=WRONG).status_code == 303
    with app.app_context():
        passback = db.session.scalars(select(LtiPassback)).one()
        assert passback.state == "failed"  # in this session, which keeps it after commits
        with db.engine.begin() as other:  # another sender posted it meanwhile
            other.execute(update(LtiPassback).values(state="sent"))
        assert send(passback.id) == ("sent", False)
    assert platform.scores == []  # not posted a second time


def test_an_older_passback_is_not_sent_after_a_newer_one(app, client, platform):
    assert launch(client, platform).status_code == 302
    app.extensions[GRADE_CHANGED] = []  # recorded, not sent
    client.post("/exercises/jacobian-shape", data=WRONG)
    client.post("/exercises/jacobian-shape", data=ANSWERS)
    with app.app_context():
        older, newer = db.session.scalars(select(LtiPassback).order_by(LtiPassback.id))
        older.state = "failed"  # left unsent by the second grade, as one being sent is
        older, newer = older.id, newer.id
        db.session.commit()
        assert send(older) == ("superseded", False)
        assert send(newer) == ("sent", False)
    assert len(platform.scores) == 1


def test_the_roster_is_pulled_from_the_platform(app, client, platform, runner):
    assert launch(client, platform).status_code == 302
    member = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
    platform.members = [
        {"user_id": "student-1", "roles": [member + "Learner"], "status": "Active"},
        {"user_id": "student-2", "roles": [member + "Learner"]},
        {"user_id": "teacher-1", "roles": [member + "Instructor"]},
        {"user_id": "gone", "roles": [member + "Learner"], "status": "Inactive"},
    ]
    result = runner.invoke(args=["lti", "roster", "course-v1:Test+DL101+2026"])
    assert result.exit_code == 0, result.output
    assert "1 instructor, 2 student; 2 new users" in result.output
    with app.app_context():
        [context] = db.session.scalars(select(LtiContext))
        roles = sorted((e.user.external_id, e.role) for e in context.course.enrolments)
    assert roles == [
        ("student-1", "student"),
        ("student-2", "student"),
        ("teacher-1", "instructor"),
    ]
    missing = runner.invoke(args=["lti", "roster", "nope"])
    assert missing.exit_code == 1 and "No LMS course" in missing.output


def test_the_periodic_resend_sends_what_failed(app, client, platform):
    from grader import tasks

    assert launch(client, platform).status_code == 302
    platform.token_failures = 2
    client.post("/exercises/jacobian-shape", data=ANSWERS)
    with app.app_context():
        assert tasks.lti_resend_failed_task.apply().get() == 1  # the platform still fails
    assert platform.scores == [] and passbacks(app)[0][:2] == ("failed", 2)
    with app.app_context():
        assert tasks.lti_resend_failed_task.apply().get() == 1
    assert len(platform.scores) == 1 and passbacks(app)[0][:2] == ("sent", 3)
    assert [tasks.passback_delay(n) for n in range(5)] == [30, 60, 120, 240, 480]
