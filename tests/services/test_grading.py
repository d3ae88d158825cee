"""The grading service: stored seeds and results, deferred parts through the task queue."""

from datetime import timedelta

import pytest

from grader.extensions import db
from grader.models import Submission, User
from grader.services import grading
from grader.services.users import lms_user

ANSWERS = {"shape": "n×m", "vector_or_matrix": ["dJ_db1", "dJ_do"]}


@pytest.fixture()
def student(imported):
    with imported.app_context():
        return lms_user("s-1").id


def _submit(app, answers=ANSWERS, seed=None):
    with app.app_context():
        user = db.session.get(User, 1)
        submission, _ = grading.submit("jacobian-shape", user, answers, "cli", seed=seed)
        return grading.result_object(submission)


def test_seed_answers_and_parts_are_stored(imported, student):
    result = _submit(imported, seed=12345)
    with imported.app_context():
        row = db.session.get(Submission, result["id"])
        assert row.seed == 12345 and row.answers == ANSWERS and row.source == "cli"
        assert [p["id"] for p in row.parts][:2] == ["shape", "dh_dz"]
        assert row.parts[0]["diagnosis"] == "correct" and row.parts[1]["diagnosis"] == "unanswered"
    assert result["score"] == 2.0 and result["status"] == "graded"


def test_invalid_answer_stores_nothing(imported, student):
    with pytest.raises(grading.InvalidAnswers) as info:
        _submit(imported, {"shape": "n×k"})
    assert info.value.results[0].part_id == "shape"
    with imported.app_context():
        assert db.session.query(Submission).count() == 0


def test_a_kind_that_crashes_marks_only_its_part(imported, student, monkeypatch):
    from grader.kinds.choice import ChoiceKind

    def boom(self, part, answer, ctx):
        raise ZeroDivisionError

    monkeypatch.setattr(ChoiceKind, "grade", boom)
    result = _submit(imported)
    parts = {p["id"]: p for p in result["parts"]}
    assert parts["vector_or_matrix"]["status"] == "error"
    assert parts["shape"]["correct"] and result["status"] == "error"


@pytest.fixture()
def choice_deferred(monkeypatch):
    """Treat choice parts as deferred, standing in for a slow kind such as code."""
    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")


def test_deferred_part_is_graded_by_the_eager_task(imported, student, choice_deferred):
    result = _submit(imported)
    assert result["status"] == "graded" and result["score"] == 2.0
    assert result["graded_at"] is not None
    assert [p["id"] for p in result["parts"]][-1] == "vector_or_matrix"


def test_broker_down_leaves_row_queued_and_sweeper_recovers(
    imported, student, choice_deferred, monkeypatch
):
    import grader.tasks as tasks

    def broker_down(_id):
        raise ConnectionError

    monkeypatch.setitem(imported.extensions, grading.ENQUEUE, broker_down)
    result = _submit(imported)
    assert result["status"] == "queued" and result["graded_at"] is None
    queued = next(p for p in result["parts"] if p["id"] == "vector_or_matrix")
    assert queued["status"] == "queued" and queued["feedback"] == "Queued for grading."
    with imported.app_context():
        assert tasks.sweep_stale(timedelta(minutes=5)) == []  # not stale yet
        assert tasks.sweep_stale(timedelta(seconds=-1)) == [result["id"]]
        db.session.rollback()  # end this session's read snapshot: the task committed elsewhere
        row = db.session.get(Submission, result["id"])
        assert row.status == "graded" and row.score == 2.0


def test_task_that_keeps_failing_ends_as_error_with_reason(
    imported, student, choice_deferred, monkeypatch
):
    def broken(_id):
        raise RuntimeError("worker exploded")

    monkeypatch.setattr(grading, "finish_deferred", broken)
    result = _submit(imported)
    assert result["status"] == "error"
    with imported.app_context():
        row = db.session.get(Submission, result["id"])
        assert "worker exploded" in row.error
        part = next(p for p in row.parts if p["id"] == "vector_or_matrix")
        assert part["status"] == "error"


def test_finish_deferred_is_idempotent(imported, student, choice_deferred):
    result = _submit(imported)
    with imported.app_context():
        assert grading.finish_deferred(result["id"]) == "skipped"
        assert grading.finish_deferred(999) == "skipped"


def test_second_delivery_racing_the_first_stores_nothing(
    imported, student, choice_deferred, monkeypatch
):
    """Two deliveries of one task both read the row as queued; only the first update lands."""

    monkeypatch.setitem(imported.extensions, grading.ENQUEUE, lambda _id: None)  # stays queued
    result = _submit(imported)
    with imported.app_context():
        first = db.session.get(Submission, result["id"])
        assert first.status == "queued"
        real_grade = grading.grade_answers
        calls = []

        def grade_and_let_the_other_win(*args, **kwargs):
            results = real_grade(*args, **kwargs)
            if not calls:
                calls.append(1)
                # the other delivery finishes while this one is still grading
                assert grading.finish_deferred(result["id"]) == "graded"
            return results

        monkeypatch.setattr(grading, "grade_answers", grade_and_let_the_other_win)
        db.session.rollback()
        assert grading.finish_deferred(result["id"]) == "skipped"
        db.session.rollback()
        assert db.session.get(Submission, result["id"]).status == "graded"
