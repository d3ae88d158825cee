"""Reviewing text answers: needs_review until an instructor grades, in one transaction."""

import pytest

from grader.extensions import db
from grader.models import Submission, User
from grader.services.grading import result_object, submit
from grader.services.review import ReviewError, find_reviewer, grade_review, pending_reviews
from grader.services.users import create_user, lms_user

ANSWERS = {
    "partition": ["yes-model-parallel"],
    "discussion": "Partition when the parameters "
    "do not fit on one GPU; a smaller minibatch only shrinks the activations.",
}


@pytest.fixture()
def submitted(imported):
    with imported.app_context():
        student = lms_user("s-9")
        submission, _ = submit("multi-gpu", student, ANSWERS, "api", seed=5)
        teacher = create_user("teacher@example.com", "instructor", "pw-123456789")
        return imported, submission.id, teacher.id


def test_text_part_waits_for_review(submitted):
    app, sid, _ = submitted
    with app.app_context():
        row = db.session.get(Submission, sid)
        essay = next(p for p in row.parts if p["id"] == "discussion")
        assert essay["status"] == "needs_review" and essay["score"] is None
        assert row.status == "needs_review" and row.score is None  # known once reviewed
        assert result_object(row)["status"] == "needs_review"
        pending = pending_reviews()
        assert [(p.submission_id, p.part_id, p.exercise) for p in pending] == [
            (sid, "discussion", "multi-gpu")
        ]
        assert pending[0].excerpt.startswith("Partition when")
        assert pending_reviews("jacobian-shape") == []


def test_grade_review_sets_score_who_and_when(submitted):
    app, sid, teacher_id = submitted
    with app.app_context():
        teacher = db.session.get(User, teacher_id)
        row = grade_review(sid, "discussion", 1.5, "Right idea; name a cost.", teacher)
        essay = next(p for p in row.parts if p["id"] == "discussion")
        assert essay["score"] == 1.5 and essay["status"] == "graded"
        assert essay["feedback"] == "Right idea; name a cost."
        review = essay["details"]["review"]
        assert review["by"] == "teacher@example.com" and review["by_id"] == teacher_id
        assert review["at"] and review["previous_score"] is None
        assert row.status == "graded" and row.score == 2.5
        db.session.expire_all()
        assert db.session.get(Submission, sid).score == 2.5  # committed
        assert pending_reviews() == []


@pytest.mark.parametrize(
    ("part", "score", "message"),
    [
        ("discussion", 2.5, "from 0 to 2"),
        ("discussion", -1, "from 0 to 2"),
        ("partition", 1, "graded automatically"),
        ("nope", 1, "has no part"),
    ],
)
def test_grade_review_refuses(submitted, part, score, message):
    app, sid, teacher_id = submitted
    with app.app_context():
        teacher = db.session.get(User, teacher_id)
        with pytest.raises(ReviewError, match=message):
            grade_review(sid, part, score, "", teacher)
        assert db.session.get(Submission, sid).status == "needs_review"


def test_cli_lists_and_grades(submitted):
    app, sid, _ = submitted
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["review"])
    assert listed.exit_code == 0 and "discussion" in listed.output
    assert "1 part(s) waiting for review" in listed.output
    graded = runner.invoke(
        args=["review", str(sid), "discussion", "--score", "2", "--feedback", "Complete."]
    )
    assert graded.exit_code == 0, graded.output
    assert "total 3/5, graded" in graded.output
    again = runner.invoke(args=["review", str(sid), "discussion"])
    assert again.exit_code == 2 and "--score" in again.output


def test_review_of_a_queued_submission_leaves_it_queued_for_the_worker(submitted):
    # A code part still waiting for the worker: reviewing the text part must not take the
    # submission out of "queued", or the worker (which only grades queued rows) skips it.
    app, sid, teacher_id = submitted
    with app.app_context():
        row = db.session.get(Submission, sid)
        row.parts = [dict(p, status="queued") if p["id"] == "partition" else p for p in row.parts]
        row.status = "queued"
        db.session.commit()
        teacher = db.session.get(User, teacher_id)
        row = grade_review(sid, "discussion", 2, "", teacher)
        assert row.status == "queued"
        essay = next(p for p in row.parts if p["id"] == "discussion")
        assert essay["status"] == "graded" and essay["score"] == 2


def test_an_empty_feedback_says_full_marks_or_reviewed(submitted):
    app, sid, teacher_id = submitted
    with app.app_context():
        teacher = db.session.get(User, teacher_id)
        row = grade_review(sid, "discussion", 1, "", teacher)
        assert next(p for p in row.parts if p["id"] == "discussion")["feedback"] == "Reviewed."
        row = grade_review(sid, "discussion", 2, "", teacher)
        assert next(p for p in row.parts if p["id"] == "discussion")["feedback"] == "Full marks."


def test_find_reviewer(submitted):
    app, _, teacher_id = submitted
    with app.app_context():
        assert find_reviewer("Teacher@example.com").id == teacher_id
        assert find_reviewer(None).id == teacher_id  # the only instructor
        create_user("student@example.com", "student", "pw-123456789")
        with pytest.raises(ReviewError, match="no instructor"):
            find_reviewer("student@example.com")
        create_user("second@example.com", "admin", "pw-123456789")
        with pytest.raises(ReviewError, match="--by"):
            find_reviewer(None)


def test_unknown_submission(submitted):
    app, _, teacher_id = submitted
    with app.app_context():
        with pytest.raises(ReviewError, match="no submission 99"):
            grade_review(99, "x", 1, "", db.session.get(User, teacher_id))


def test_a_review_reads_the_submission_again_under_its_lock(submitted):
    """The review page loads the submission before it calls ``grade_review``; a review
    committed meanwhile by another instructor must not be overwritten by that copy."""
    app, sid, teacher_id = submitted
    with app.app_context():
        stale = db.session.get(Submission, sid)  # kept: the session does not expire on commit
        assert stale.status == "needs_review"
        with app.app_context():  # another instructor's review, committed meanwhile
            grade_review(sid, "discussion", 1.5, "First.", db.session.get(User, teacher_id))
        row = grade_review(sid, "discussion", 2.0, "Second.", db.session.get(User, teacher_id))
        essay = next(p for p in row.parts if p["id"] == "discussion")
        assert essay["details"]["review"]["previous_score"] == 1.5
        assert row.score == 3.0
