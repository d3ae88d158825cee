"""The assignment policy's pure rules (services/policy.py): dates, attempts, counted scores,
feedback views. No database: assignments and submissions are plain objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from grader.models import Assignment
from grader.services.policy import (
    AssignmentClosed,
    AssignmentNotOpen,
    AttemptsExhausted,
    attempt_factor,
    check_attempt,
    check_open,
    counted_score,
    feedback_view,
    local_time,
    policy_summary,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def assignment(**fields) -> Assignment:
    defaults = {
        "max_attempts": None,
        "free_attempts": 1,
        "attempt_penalty": 0.0,
        "score_policy": "best",
        "feedback": "full",
        "points": None,
        "late_penalty": 0.0,
        "opens_at": None,
        "due_at": None,
        "closes_at": None,
    }
    return Assignment(**(defaults | fields))


def sub(attempt, score, status="graded", late=False, max_score=6.0):
    return SimpleNamespace(
        id=attempt,
        attempt=attempt,
        score=score,
        status=status,
        late=late,
        max_score=max_score,
        created_at=T0 + timedelta(minutes=attempt),
    )


def test_check_open_refuses_before_opening_and_after_closing_and_marks_late():
    a = assignment(opens_at=T0, due_at=T0 + timedelta(days=1), closes_at=T0 + timedelta(days=2))
    with pytest.raises(AssignmentNotOpen, match="opens at 2026-12-01 12:00 UTC"):
        check_open(a, T0 - timedelta(seconds=1))
    assert check_open(a, T0) is False
    assert check_open(a, T0 + timedelta(days=1)) is False  # at the due time: on time
    assert check_open(a, T0 + timedelta(days=1, microseconds=1)) is True
    assert check_open(a, T0 + timedelta(days=2)) is True  # at the close time: accepted, late
    with pytest.raises(AssignmentClosed) as refused:
        check_open(a, T0 + timedelta(days=2, microseconds=1))
    assert refused.value.code == "assignment-closed"
    # SQLite hands back naive UTC times: compared as UTC
    naive = assignment(closes_at=datetime(2026, 12, 1, 12, 0))
    with pytest.raises(AssignmentClosed):
        check_open(naive, T0 + timedelta(seconds=1))
    assert check_open(None, T0) is False


def test_check_attempt_counts_up_to_the_limit():
    check_attempt(assignment(max_attempts=None), 1000)
    check_attempt(assignment(max_attempts=2), 2)
    with pytest.raises(AttemptsExhausted, match="all 2 attempts"):
        check_attempt(assignment(max_attempts=2), 3)


def test_attempt_penalty_applies_after_the_free_attempts_and_never_below_zero():
    a = assignment(free_attempts=2, attempt_penalty=0.25)
    assert [attempt_factor(a, n) for n in (1, 2, 3, 4, 5, 6)] == [1, 1, 0.75, 0.5, 0.25, 0]


def test_best_ignores_attempt_penalties_best_with_penalty_and_last_apply_them():
    subs = [sub(1, 3.0), sub(2, 6.0), sub(3, 4.0)]
    policy = {"free_attempts": 1, "attempt_penalty": 0.5}
    assert counted_score(assignment(**policy), subs).score == 6.0
    # attempt 2 keeps 50 %: 3.0; attempt 1 keeps all: 3.0; attempt 3 keeps 0
    assert counted_score(assignment(score_policy="best-with-penalty", **policy), subs).score == 3
    assert counted_score(assignment(score_policy="last", **policy), subs).score == 0.0
    assert counted_score(assignment(score_policy="last"), subs).score == 4.0


def test_late_penalty_and_points_scale_every_policy():
    subs = [sub(1, 6.0, late=True), sub(2, 3.0)]
    a = assignment(late_penalty=0.5, points=10)
    counted = counted_score(a, subs)
    assert counted.max_score == 10 and counted.score == 5.0  # 6/6 × 10, halved; 3/6 × 10 = 5
    assert counted_score(assignment(late_penalty=0.5), subs).score == 3.0


def test_pending_scores_never_count_as_zero():
    waiting = [sub(1, None, "needs_review"), sub(2, None, "queued"), sub(3, 1.0, "error")]
    counted = counted_score(assignment(), waiting)
    assert counted.score is None and counted.submissions == 1 and counted.pending_review == 1
    # under "last", a latest submission waiting for review leaves the score pending
    later = [sub(1, 5.0), sub(2, None, "needs_review")]
    assert counted_score(assignment(score_policy="last"), later).score is None
    # queued and failed submissions are not counted: the last counted one is attempt 1
    assert (
        counted_score(assignment(score_policy="last"), [sub(1, 5.0), sub(2, None, "queued")]).score
        == 5
    )
    assert counted_score(None, [sub(1, 2.0), sub(2, 4.0)]).score == 4.0


def test_the_counted_score_names_the_submission_that_gives_it():
    subs = [sub(1, 3.0), sub(2, 6.0), sub(3, 6.0), sub(4, 4.0)]
    assert counted_score(assignment(), subs).submission_id == 2  # the first of the best
    assert counted_score(assignment(score_policy="last"), subs).submission_id == 4
    penalised = assignment(score_policy="best-with-penalty", free_attempts=1, attempt_penalty=0.5)
    assert counted_score(penalised, subs).submission_id == 1  # 3.0 against 6.0 × 0.5
    # while nothing has a score, the latest counted one; without counted ones, none
    waiting = [sub(1, None, "needs_review"), sub(2, None, "needs_review"), sub(3, 5.0, "error")]
    assert counted_score(assignment(), waiting).submission_id == 2
    assert counted_score(assignment(), [sub(1, None, "queued")]).submission_id is None


PART = {
    "id": "shape",
    "score": 0.0,
    "max_score": 1.0,
    "correct": False,
    "feedback": "m×n is the shape of Xᵀ: the gradient is n×m.",
    "status": "graded",
    "diagnosis": "transposed",
    "details": {"sizes": "n=3"},
}


def test_feedback_views_keep_the_stored_result_and_hide_what_the_level_hides():
    from grader.kinds.shape import ShapePart

    part = ShapePart(id="shape", kind="shape", answer="n×m", sizes=["n", "m"])
    assert feedback_view(PART, "full", part) == PART
    hints = feedback_view(PART, "hints", part)
    assert hints["feedback"] and "n×m" not in hints["feedback"] and hints["details"] == {}
    assert hints["score"] == 0.0 and hints["diagnosis"] == ""
    only = feedback_view(PART, "score-only", part)
    assert only["feedback"] == "" and only["details"] == {} and only["max_score"] == 1.0
    assert PART["feedback"].startswith("m×n") and PART["details"]  # never changed
    unanswered = dict(PART, diagnosis="unanswered", feedback="No answer.")
    assert feedback_view(unanswered, "score-only", part)["feedback"] == "No answer."


def test_times_show_in_the_course_zone_and_the_summary_names_the_state():
    assert local_time(T0, "Europe/Berlin") == "2026-12-01 13:00 CET"
    assert local_time(T0, "Not/AZone") == "2026-12-01 12:00 UTC"
    a = assignment(due_at=T0, closes_at=T0 + timedelta(hours=1), max_attempts=3)
    summary = policy_summary(a, "America/New_York", 1, T0 + timedelta(minutes=1))
    assert summary.state == "late" and summary.left == 2
    assert summary.due == "2026-12-01 07:00 EST"
    assert policy_summary(a, "UTC", 3, T0 + timedelta(hours=2)).state == "closed"
