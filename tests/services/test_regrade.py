"""Regrading: new versions change scores, old grades are kept in the history, seeds are reused."""

from pathlib import Path

import pytest
from sqlalchemy import select

from grader.extensions import db
from grader.models import Submission, SubmissionGrade
from grader.services import regrade as regrade_module
from grader.services.exercises import ExerciseNotFound, import_exercises
from grader.services.grading import submit
from grader.services.review import grade_review
from grader.services.users import create_user, lms_user

EXERCISE = """\
slug: regrade-demo
title: Regrade demo
dims: {{n: [2, 9], m: [2, 9]}}
parts:
  - id: shape
    kind: shape
    sizes: [n, m]
    answer: {answer}
  - id: essay
    kind: text
    points: 2
    rubric: anything sensible
"""


def _write(folder: Path, answer: str) -> Path:
    path = folder / "regrade-demo.yaml"
    path.write_text(EXERCISE.format(answer=answer), encoding="utf-8")
    return path


@pytest.fixture()
def demo(app, tmp_path):
    with app.app_context():
        import_exercises([_write(tmp_path, "n×m")])
        student = lms_user("s-1")
        first, _ = submit("regrade-demo", student, {"shape": "n×m"}, "cli", seed=111)
        second, _ = submit(
            "regrade-demo", student, {"shape": "m×n", "essay": "My essay."}, "cli", seed=222
        )
        return app, tmp_path, first.id, second.id


def test_new_version_changes_scores_and_keeps_old_ones(demo):
    app, folder, first, second = demo
    with app.app_context():
        import_exercises([_write(folder, "m×n")])  # version 2: the key is now m×n
        report = regrade_module.regrade_exercise("regrade-demo")
        assert report.version == 2 and report.regraded == 2
        changed = {c.submission_id: (c.old_score, c.new_score) for c in report.changed}
        # the second waits for its essay's review: it has no score before or after
        assert changed == {first: (1.0, 0.0)}
        shape = db.session.get(Submission, second).parts[0]
        assert (shape["id"], shape["score"]) == ("shape", 1.0)
        row = db.session.get(Submission, first)
        assert row.score == 0.0 and row.version.number == 2
        history = regrade_module.grade_history(first)
        assert [(h.score, h.status) for h in history] == [(1.0, "graded")]
        assert history[0].exercise_version_id != row.exercise_version_id
        assert history[0].parts[0]["diagnosis"] == "correct"
        assert "version 2" in history[0].reason
        lines = report.summary_lines()
        assert "1 score(s) changed" in lines[0]
        assert any(f"submission {first}" in line and "1 -> 0" in line for line in lines)


def test_regrade_to_a_named_version_and_back(demo):
    app, folder, first, _ = demo
    with app.app_context():
        import_exercises([_write(folder, "m×n")])
        regrade_module.regrade_exercise("regrade-demo")
        report = regrade_module.regrade_exercise("regrade-demo", 1)
        assert report.version == 1
        assert db.session.get(Submission, first).score == 1.0
        assert [h.score for h in regrade_module.grade_history(first)] == [1.0, 0.0]
        assert db.session.query(SubmissionGrade).count() == 4


def test_stored_seeds_are_reused(demo, monkeypatch):
    app, _, first, second = demo
    seen = []
    real = regrade_module.grade_answers

    def spy(spec, answers, seed, only=None):
        seen.append(seed)
        return real(spec, answers, seed, only)

    monkeypatch.setattr(regrade_module, "grade_answers", spy)
    with app.app_context():
        report = regrade_module.regrade_exercise("regrade-demo")
        assert report.changed == []  # same version, same seeds: same scores
        assert sorted(seen) == [111, 222]
        assert {db.session.get(Submission, i).seed for i in (first, second)} == {111, 222}


def test_reviewed_parts_keep_their_grade_and_pending_ones_stay_pending(demo):
    app, folder, _, second = demo
    with app.app_context():
        teacher = create_user("t@example.com", "instructor", "pw-123456789")
        grade_review(second, "essay", 1.5, "Good point.", teacher)
        assert db.session.get(Submission, second).score == 1.5
        import_exercises([_write(folder, "m×n")])
        regrade_module.regrade_exercise("regrade-demo")
        row = db.session.get(Submission, second)
        essay = next(p for p in row.parts if p["id"] == "essay")
        assert essay["score"] == 1.5 and essay["reviewed_by"] == "t@example.com"
        assert row.score == 2.5 and row.status == "graded"


def test_a_review_committed_while_regrading_is_kept(demo, monkeypatch):
    app, folder, _, second = demo
    grade = regrade_module.grade_answers

    def grade_while_an_instructor_reviews(spec, answers, seed, only=None):
        if "essay" in answers:
            with app.app_context():
                teacher = create_user("t2@example.com", "instructor", "pw-123456789")
                grade_review(second, "essay", 1.5, "Good point.", teacher)
        return grade(spec, answers, seed, only)

    monkeypatch.setattr(regrade_module, "grade_answers", grade_while_an_instructor_reviews)
    with app.app_context():
        import_exercises([_write(folder, "m×n")])
        regrade_module.regrade_exercise("regrade-demo")
        row = db.session.get(Submission, second)
        essay = next(p for p in row.parts if p["id"] == "essay")
        assert essay["score"] == 1.5 and essay["reviewed_by"] == "t2@example.com"
        assert row.score == 2.5 and row.status == "graded"
        # the history keeps the grade as it stood when the regrade took it: reviewed
        history = db.session.scalars(
            select(SubmissionGrade).where(SubmissionGrade.submission_id == second)
        ).one()
        assert history.score == 1.5


def test_queued_submissions_are_skipped(demo):
    app, _, first, _ = demo
    with app.app_context():
        db.session.get(Submission, first).status = "queued"
        db.session.commit()
        report = regrade_module.regrade_exercise("regrade-demo")
        assert report.skipped == [(first, "still queued for grading")]
        assert regrade_module.grade_history(first) == []


def test_unknown_exercise_and_version(demo):
    app, *_ = demo
    with app.app_context():
        with pytest.raises(ExerciseNotFound):
            regrade_module.regrade_exercise("nope")
        with pytest.raises(regrade_module.RegradeError, match="no version 7"):
            regrade_module.regrade_exercise("regrade-demo", 7)


def test_cli_regrade_prints_summary(demo):
    app, folder, first, _ = demo
    with app.app_context():
        import_exercises([_write(folder, "m×n")])
    result = app.test_cli_runner().invoke(args=["regrade", "regrade-demo"])
    assert result.exit_code == 0, result.output
    assert "regraded 2 submission(s) against version 2" in result.output
    assert f"submission {first}" in result.output
    bad = app.test_cli_runner().invoke(args=["regrade", "regrade-demo", "--version", "9"])
    assert bad.exit_code == 1 and "no version 9" in bad.output
