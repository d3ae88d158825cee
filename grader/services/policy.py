"""Assignment policy (DESIGN section 8, "Attempts, dates and feedback"): when an assignment
takes submissions, how many, what a student's submissions count for, and how much of each
result a student is shown.

Pure functions over an assignment and submissions (no database, no clock of their own: the
caller passes ``now``), so the grading service, the score listings, the pages and the API all
decide by the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.kinds.registry import get_kind
from grader.models import Assignment, FeedbackLevel, ScorePolicy, Status

COUNTED_STATUSES = (Status.GRADED, Status.NEEDS_REVIEW)
SCORE_ONLY_FEEDBACK = ""


class SubmissionRefused(Exception):
    """Base of the refusals an assignment's policy makes: nothing is stored and no attempt is
    used. ``code`` is the problem type the API answers with (409)."""

    code = "submission-refused"


class AssignmentNotOpen(SubmissionRefused):
    """Raised for a submission before the assignment's ``opens_at``."""

    code = "not-open"


class AssignmentClosed(SubmissionRefused):
    """Raised for a submission after the assignment's ``closes_at``."""

    code = "assignment-closed"


class AttemptsExhausted(SubmissionRefused):
    """Raised for a submission beyond the assignment's ``max_attempts``."""

    code = "attempts-exhausted"


def _utc(value: datetime) -> datetime:
    """Return ``value`` comparable with an aware UTC time (SQLite returns naive UTC times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _stamp(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def check_open(assignment: Assignment | None, now: datetime) -> bool:
    """Return whether a submission made at ``now`` is late (after ``due_at``, not after
    ``closes_at``). Raise ``AssignmentNotOpen`` before ``opens_at`` and ``AssignmentClosed``
    after ``closes_at`` (a submission at exactly ``closes_at`` is accepted, late if due)."""
    if assignment is None:
        return False
    now = _utc(now)
    if assignment.opens_at is not None and now < _utc(assignment.opens_at):
        raise AssignmentNotOpen(
            f"This assignment opens at {_stamp(assignment.opens_at)}; nothing was recorded."
        )
    if assignment.closes_at is not None and now > _utc(assignment.closes_at):
        raise AssignmentClosed(
            f"This assignment closed at {_stamp(assignment.closes_at)}; submissions are no "
            "longer accepted and nothing was recorded."
        )
    return assignment.due_at is not None and now > _utc(assignment.due_at)


def check_attempt(assignment: Assignment | None, attempt: int) -> None:
    """Raise ``AttemptsExhausted`` when ``attempt`` (1-based) is beyond ``max_attempts``."""
    if assignment is None or assignment.max_attempts is None:
        return
    if attempt > assignment.max_attempts:
        raise AttemptsExhausted(
            f"You have used all {assignment.max_attempts} attempt"
            f"{'' if assignment.max_attempts == 1 else 's'} of this assignment; nothing was "
            "recorded."
        )


def attempts_left(assignment: Assignment | None, used: int) -> int | None:
    """Return how many attempts remain after ``used`` (None: unlimited)."""
    if assignment is None or assignment.max_attempts is None:
        return None
    return max(0, assignment.max_attempts - used)


def attempt_factor(assignment: Assignment, attempt: int | None) -> float:
    """Return the share of a score that attempt number ``attempt`` keeps: 1 for the first
    ``free_attempts``, then ``attempt_penalty`` less per further attempt (never below 0)."""
    extra = max(0, (attempt or 1) - assignment.free_attempts)
    return max(0.0, 1.0 - assignment.attempt_penalty * extra)


def late_factor(assignment: Assignment, late: bool) -> float:
    """Return the share of a score a submission keeps: ``1 - late_penalty`` when late."""
    return 1.0 - assignment.late_penalty if late else 1.0


class Scored(Protocol):
    """What ``counted_score`` reads of a submission (``grader.models.Submission`` has it)."""

    id: Any
    status: str
    score: float | None
    max_score: float
    attempt: int | None
    late: bool


@dataclass(frozen=True)
class CountedScore:
    """What a student's submissions to one assignment count for.

    ``score`` is None while no counted submission has a score yet (all wait for review), or,
    under ``last``, while the latest one waits: a pending score is never 0. ``submission_id``
    is the submission that gives the score (while there is none, the latest counted one; None
    without counted submissions): where the gradebook links.
    """

    score: float | None
    max_score: float
    submissions: int
    pending_review: int
    submission_id: int | None = None


def assignment_max(assignment: Assignment | None, exercise_max: float) -> float:
    """Return the full marks of an assignment: its ``points``, else the exercise's."""
    if assignment is None or assignment.points is None:
        return float(exercise_max)
    return float(assignment.points)


def submission_score(
    assignment: Assignment | None, submission: Scored, with_attempt_penalty: bool = True
) -> float | None:
    """Return what one submission's score is worth in ``assignment``: scaled to its points,
    less the late penalty and (``with_attempt_penalty``) the attempt penalty; None while the
    score is not known."""
    if submission.score is None:
        return None
    if assignment is None:
        return float(submission.score)
    full = float(submission.max_score or 0)
    scaled = float(submission.score)
    if assignment.points is not None and full > 0:
        scaled = scaled * assignment.points / full
    factor = late_factor(assignment, bool(submission.late))
    if with_attempt_penalty:
        factor *= attempt_factor(assignment, submission.attempt)
    return round(scaled * factor, 6)


def counted_score(assignment: Assignment | None, submissions: Iterable[Scored]) -> CountedScore:
    """Return the counted score of one student's ``submissions`` to ``assignment``.

    Only ``graded`` and ``needs_review`` submissions count (queued and failed ones do not).
    ``best``: the highest known score, attempt penalties not applied; ``last``: the latest
    counted submission's score with its attempt penalty; ``best-with-penalty``: the highest
    known score after each attempt's penalty. Every policy scales to the assignment's points
    and applies the late penalty. Without an assignment: the highest known raw score.
    """
    counted = [s for s in submissions if s.status in COUNTED_STATUSES]
    exercise_max = max((float(s.max_score or 0) for s in counted), default=0.0)
    full = assignment_max(assignment, exercise_max)
    pending = sum(1 for s in counted if s.status == Status.NEEDS_REVIEW)
    policy = ScorePolicy(assignment.score_policy) if assignment is not None else ScorePolicy.BEST
    if not counted:
        return CountedScore(None, full, 0, 0)
    latest = max(counted, key=lambda s: (s.attempt or 0, s.id or 0))
    if policy == ScorePolicy.LAST:
        return CountedScore(
            submission_score(assignment, latest), full, len(counted), pending, latest.id
        )
    penalised = policy == ScorePolicy.BEST_WITH_PENALTY
    known = [
        (k, s) for s in counted if (k := submission_score(assignment, s, penalised)) is not None
    ]
    if not known:
        return CountedScore(None, full, len(counted), pending, latest.id)
    score, best = max(known, key=lambda pair: pair[0])  # the first of equal scores
    return CountedScore(score, full, len(counted), pending, best.id)


def feedback_level(assignment: Assignment | None) -> FeedbackLevel:
    """Return the feedback level students get in ``assignment`` (full without one)."""
    return FeedbackLevel.FULL if assignment is None else FeedbackLevel(assignment.feedback)


def feedback_view(part_result: Mapping[str, Any], level: str, part: Any | None) -> dict[str, Any]:
    """Return a stored part result (``submissions.parts`` entry) as a student at ``level``
    sees it. ``full``: unchanged. ``hints``: the kind's hint (names the mistake, never an
    expected value) and no details. ``score-only``: the score and verdict, no feedback, no
    details. ``part`` is the part's spec (None if the version lost it: nothing but the score
    is shown below ``full`` then). The stored result is never changed."""
    view = dict(part_result)
    if level == FeedbackLevel.FULL:
        return view
    unanswered = view.get("diagnosis") == "unanswered"
    view["details"] = {}
    view["diagnosis"] = "unanswered" if unanswered else ""
    if level == FeedbackLevel.HINTS and part is not None:
        view["feedback"] = get_kind(part.kind).hint(part, part_result)
    elif unanswered:
        view["feedback"] = "No answer."
    else:
        view["feedback"] = SCORE_ONLY_FEEDBACK
    return view


def student_parts(
    parts: Iterable[Mapping[str, Any]], level: str, spec: Any
) -> list[dict[str, Any]]:
    """Return a submission's stored part results as a student at ``level`` sees them; ``spec``
    is the submission's exercise version spec."""
    by_id = {part.id: part for part in spec.parts}
    return [feedback_view(p, level, by_id.get(str(p.get("id")))) for p in parts]


def local_time(value: datetime | None, time_zone: str) -> str:
    """Return a stored UTC time as the course shows it: ``2026-12-04 17:00 CET`` in
    ``time_zone`` (an IANA name; an unknown one shows UTC). Empty for None."""
    if value is None:
        return ""
    try:
        zone: Any = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return _utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class PolicySummary:
    """What the exercise page tells a student about an assignment, at ``now``."""

    state: str  # "open", "late" (after due, before close), "not-open", "closed"
    opens: str
    due: str
    closes: str
    used: int
    max_attempts: int | None
    left: int | None
    free_attempts: int
    attempt_penalty: float
    late_penalty: float
    feedback: str
    points: float | None


def policy_summary(
    assignment: Assignment, time_zone: str, used: int, now: datetime
) -> PolicySummary:
    """Return the summary of ``assignment`` for a student who has made ``used`` attempts, with
    times in the course's ``time_zone``."""
    try:
        state = "late" if check_open(assignment, now) else "open"
    except AssignmentNotOpen:
        state = "not-open"
    except AssignmentClosed:
        state = "closed"
    return PolicySummary(
        state=state,
        opens=local_time(assignment.opens_at, time_zone),
        due=local_time(assignment.due_at, time_zone),
        closes=local_time(assignment.closes_at, time_zone),
        used=used,
        max_attempts=assignment.max_attempts,
        left=attempts_left(assignment, used),
        free_attempts=assignment.free_attempts,
        attempt_penalty=assignment.attempt_penalty,
        late_penalty=assignment.late_penalty,
        feedback=assignment.feedback,
        points=assignment.points,
    )
