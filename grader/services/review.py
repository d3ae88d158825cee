"""Instructor review of "needs review" parts (free text and the like): set a part's score and
feedback by hand, then recompute the submission's score and status.

Who graded is kept in the part's result (``reviewed_by``, ``reviewed_at``); the public result
object (DESIGN section 9) does not include these fields.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from grader.extensions import db
from grader.kinds.base import GRADED, NEEDS_REVIEW
from grader.metrics import count_submission
from grader.models import Assignment, Exercise, ExerciseVersion, Submission, User, utcnow
from grader.services.events import grade_changed
from grader.services.exercises import spec_of
from grader.services.results import record_parts

log = logging.getLogger(__name__)
MAX_FEEDBACK_CHARS = 5000


class ReviewError(ValueError):
    """Raised when a review cannot be recorded as asked; the message says why."""


def reviewable(part: dict) -> bool:
    """Return True for a part result an instructor may grade by hand (waiting, or reviewed)."""
    return part.get("status") == NEEDS_REVIEW or bool(part.get("reviewed_by"))


@dataclass(frozen=True)
class PendingReview:
    """A part waiting for an instructor: where it is, whose it is, and the start of the answer."""

    submission_id: int
    part_id: str
    exercise: str
    user: str
    max_score: float
    excerpt: str


def pending_reviews(
    slug: str | None = None, limit: int = 500, course_id: int | None = None
) -> list[PendingReview]:
    """Return the parts waiting for review, oldest submission first (of one exercise if given;
    of the assignments of one course if ``course_id`` is given)."""
    query = (
        select(Submission, Exercise.slug)
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .join(Exercise, ExerciseVersion.exercise_id == Exercise.id)
        .where(Submission.status == "needs_review")
        .options(joinedload(Submission.user))
        .order_by(Submission.created_at, Submission.id)
        .limit(limit)
    )
    if slug:
        query = query.where(Exercise.slug == slug)
    if course_id is not None:
        query = query.join(Assignment, Submission.assignment_id == Assignment.id).where(
            Assignment.course_id == course_id
        )
    pending = []
    for submission, exercise in db.session.execute(query):
        for part in submission.parts or []:
            if part.get("status") != NEEDS_REVIEW:
                continue
            answer = (submission.answers or {}).get(part["id"], "")
            text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
            excerpt = " ".join(text.split())
            pending.append(
                PendingReview(
                    submission.id,
                    part["id"],
                    exercise,
                    submission.user.display_name,
                    float(part.get("max_score") or 0),
                    excerpt if len(excerpt) <= 60 else excerpt[:59] + "…",
                )
            )
    return pending


def find_reviewer(email: str | None) -> User:
    """Return the instructor (or admin) with ``email``, or the only one when ``email`` is None.

    Raises ``ReviewError`` when there is no such instructor, or several and no email was given.
    """
    roles = ("instructor", "admin")
    if email:
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or user.role not in roles:
            raise ReviewError(f"there is no instructor with the email {email!r}")
        return user
    instructors = list(db.session.scalars(select(User).where(User.role.in_(roles)).limit(2)))
    if len(instructors) != 1:
        raise ReviewError(
            "name the instructor who grades (--by EMAIL)"
            if instructors
            else "there is no instructor; create one with `grader users create`"
        )
    return instructors[0]


def grade_review(
    submission_id: int, part_id: str, score: float, feedback: str, reviewer: User
) -> Submission:
    """Record an instructor's score and feedback for one reviewable part; return the submission.

    The submission's score becomes the sum of its parts and its status follows from them
    (``graded`` once no part waits for review). Raises ``ReviewError`` for an unknown
    submission or part, a part that is not reviewable, or a score outside [0, part maximum].
    """
    # Read again under the lock: a caller may hold the submission already (the review page
    # loads it), and the session does not expire it on commit, so that copy may predate a
    # review another instructor committed meanwhile.
    submission = db.session.scalar(
        select(Submission)
        .where(Submission.id == submission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if submission is None:
        raise ReviewError(f"there is no submission {submission_id}")
    parts = [dict(part) for part in submission.parts or []]
    target = next((part for part in parts if part.get("id") == part_id), None)
    if target is None:
        raise ReviewError(f"submission {submission_id} has no part {part_id!r}")
    if not reviewable(target):
        raise ReviewError(f"part {part_id!r} was graded automatically; it does not need review")
    maximum = float(target.get("max_score") or 0)
    if not isinstance(score, int | float) or not math.isfinite(score) or not 0 <= score <= maximum:
        raise ReviewError(f"the score must be a number from 0 to {maximum:g}")
    feedback = (feedback or "").strip()
    if len(feedback) > MAX_FEEDBACK_CHARS:
        raise ReviewError(f"the feedback is longer than {MAX_FEEDBACK_CHARS} characters")
    reviewed_at = utcnow().isoformat()
    details = dict(target.get("details") or {})
    details["review"] = {
        "by": reviewer.display_name,
        "by_id": reviewer.id,
        "at": reviewed_at,
        "previous_score": target.get("score"),
    }
    target.update(
        details=details,
        score=round(float(score), 6),
        correct=score >= maximum,
        feedback=feedback or ("Full marks." if score >= maximum else "Reviewed."),
        status=GRADED,
        diagnosis="reviewed",
        reviewed_by=reviewer.display_name,
        reviewed_by_id=reviewer.id,
        reviewed_at=reviewed_at,
    )
    outbox = record_parts(submission, parts)
    submission.graded_at = utcnow()
    status, slug = submission.status, submission.version.exercise.slug
    kinds = [p.kind for p in spec_of(submission.version).parts]
    db.session.commit()
    count_submission(slug, kinds, status)
    grade_changed(submission_id, outbox)
    log.info(
        "submission %s part %s reviewed by user %s: %s/%s",
        submission_id,
        part_id,
        reviewer.id,
        score,
        maximum,
    )
    return submission
