"""Grading service: answers in, stored submission out, in one transaction.

``grade_answers`` is pure (no database) and serves the CLI's offline grading, the self-test and
the task queue; ``submit`` validates, grades (or queues) and stores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from grader.extensions import db
from grader.kinds.base import ERROR, INVALID, QUEUED, GradingContext, PartResult, storable
from grader.kinds.registry import get_kind
from grader.kinds.spec import ExerciseSpec
from grader.metrics import count_submission, observe_grading
from grader.models import (
    ApiToken,
    Assignment,
    ExerciseVersion,
    Status,
    Submission,
    User,
    utcnow,
)
from grader.services.courses import assignment_for, default_course, next_attempt
from grader.services.events import Outbox, grade_changed
from grader.services.exercises import current_version, spec_of
from grader.services.policy import (
    SubmissionRefused,
    check_attempt,
    check_open,
    feedback_level,
    student_parts,
)
from grader.services.results import PENDING, overall_status, record_parts, total_score
from grader.services.scores import iso

log = logging.getLogger(__name__)
MAX_ANSWER_CHARS = 100_000
# The key in ``app.extensions`` of the function that queues a stored submission by id: the
# task queue (grader.tasks.init_celery) provides it, so this layer never imports the one above.
ENQUEUE = "grader.enqueue"
# Racing submissions of one user to one assignment may pick the same attempt number; the unique
# index stores one and the other counts again.
ATTEMPT_RACE_RETRIES = 5


class AnswersRejected(Exception):
    """Base of the errors a student's or client's answers cause: nothing is stored, no attempt
    is used, and callers show the message (API: 422). A built-in exception raised while
    grading is a bug in the service, never one of these."""


class MalformedAnswers(AnswersRejected):
    """Raised when the answers are not an object of part ids, or one is too long or holds NUL."""


class UnknownParts(AnswersRejected):
    """Raised when answers name parts the exercise does not have."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        super().__init__(
            f"unknown part(s) {', '.join(map(repr, unknown))}; this exercise has: "
            f"{', '.join(known)}"
        )
        self.unknown = unknown


class InvalidAnswers(AnswersRejected):
    """Raised when some answers cannot be read; nothing is stored and no attempt is used."""

    def __init__(self, results: list[PartResult]) -> None:
        super().__init__("; ".join(f"{r.part_id}: {r.feedback}" for r in results))
        self.results = results


class IdempotencyConflict(ValueError):
    """Raised when an Idempotency-Key is reused with a different request body."""


def new_seed() -> int:
    """Return a fresh random seed (48 bits: exact in JSON and JavaScript)."""
    return secrets.randbits(48)


def check_answers(spec: ExerciseSpec, answers: Any) -> dict[str, Any]:
    """Return ``answers`` if it maps known part ids; raise ``UnknownParts`` or
    ``MalformedAnswers``."""
    if not isinstance(answers, Mapping):
        raise MalformedAnswers("answers must be an object mapping part ids to answers")
    known = [part.id for part in spec.parts]
    unknown = [key for key in answers if key not in known]
    if unknown:
        raise UnknownParts(unknown, known)
    too_long = [key for key, value in answers.items() if answer_chars(value) > MAX_ANSWER_CHARS]
    if too_long:
        raise MalformedAnswers(
            f"the answer to part {too_long[0]!r} is longer than {MAX_ANSWER_CHARS} characters"
        )
    # PostgreSQL cannot store NUL in text or JSONB; no answer needs one.
    with_nul = [key for key, value in answers.items() if _contains_nul(value)]
    if with_nul:
        raise MalformedAnswers(f"the answer to part {with_nul[0]!r} contains a NUL character")
    return dict(answers)


def answer_chars(value: Any) -> int:
    """Return the length of an answer as the API documents it: a string's characters, or the
    characters of a list or an object written as compact JSON (UTF-8 text, not escaped)."""
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def is_answered(value: Any) -> bool:
    """Return False for an empty answer (missing, null, empty text or an empty choice)."""
    return value not in (None, "", [])


def is_deferred(part: Any) -> bool:
    """Return True when ``part``'s kind grades through the task queue (code)."""
    return get_kind(part.kind).deferred


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return False


def grade_answers(
    spec: ExerciseSpec,
    answers: Mapping[str, Any],
    seed: int,
    only: Callable[[Any], bool] | None = None,
) -> list[PartResult]:
    """Grade the parts of ``spec`` (those ``only`` selects); an unanswered part scores zero.

    Never raises on bad answers. A kind that raises is a bug in this service: the part is
    marked ``error``, logged, and the other parts are still graded.
    """
    ctx = GradingContext(spec, seed)
    results = []
    for part in spec.parts:
        if only is not None and not only(part):
            continue
        if not is_answered(answers.get(part.id)):
            results.append(
                PartResult(part.id, 0.0, part.points, False, "No answer.", diagnosis="unanswered")
            )
            continue
        started = time.perf_counter()
        try:
            results.append(get_kind(part.kind).grade(part, answers[part.id], ctx))
            observe_grading(part.kind, time.perf_counter() - started)
        except Exception:
            log.exception("grading part %s of %s failed", part.id, spec.slug)
            results.append(
                PartResult(
                    part.id,
                    0.0,
                    part.points,
                    False,
                    "This part could not be graded because of an internal error; "
                    "it has been logged.",
                    ERROR,
                    "internal-error",
                )
            )
    return results


def request_fingerprint(slug: str, user: str, answers: Mapping[str, Any]) -> str:
    """Return the SHA-256 of a submission request's content, to recognise a replay."""
    body = json.dumps({"slug": slug, "user": user, "answers": answers}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def submit(
    slug: str,
    user: User,
    answers: Any,
    source: str,
    seed: int | None = None,
    api_token: ApiToken | None = None,
    idempotency_key: str | None = None,
    version: ExerciseVersion | None = None,
    assignment: Assignment | None = None,
) -> tuple[Submission, bool]:
    """Grade and store a submission; return it and whether it was created now (False: a replay).

    ``version`` is the current version of ``slug`` when the caller has just looked it up.
    ``assignment`` is the course's assignment it is made for (default: the exercise's
    assignment in the default course, if it has one); the submission gets the next attempt
    number of the user there, and ``late`` when made after its due time.
    Raises ``ExerciseNotFound``, ``UnknownParts``, ``MalformedAnswers``, ``InvalidAnswers``
    (nothing stored), ``IdempotencyConflict``, and the assignment's refusals
    (``policy.SubmissionRefused``: ``AssignmentNotOpen``, ``AssignmentClosed``,
    ``AttemptsExhausted``; nothing stored, no attempt used).
    """
    version = current_version(slug) if version is None else version
    spec = spec_of(version)
    if assignment is None:
        assignment = assignment_for(default_course(), slug)
    try:
        # Refused early, before grading; decided again at the insert below (the clock there).
        _refuse_early(assignment, user)
    except SubmissionRefused:
        previous = _find_idempotent(api_token, idempotency_key) if api_token else None
        if previous is None:
            raise
        return _replay(previous, request_fingerprint(slug, user.public_id, answers))
    answers = check_answers(spec, answers)
    fingerprint = request_fingerprint(slug, user.public_id, answers)
    # A replayed Idempotency-Key is found when the insert below meets the unique index on
    # (token, key): replays are rare, and looking first would cost every request a query.
    seed = new_seed() if seed is None else seed
    deferred = [p for p in spec.parts if is_deferred(p) and is_answered(answers.get(p.id))]
    waiting = {p.id for p in deferred}
    results = grade_answers(spec, answers, seed, only=lambda p: p.id not in waiting)
    results += _prechecks(deferred, answers)
    invalid = [r for r in results if r.status == INVALID]
    if invalid:
        raise InvalidAnswers(invalid)
    results = _in_spec_order(
        spec,
        results
        + [
            PartResult(p.id, 0.0, p.points, False, "Queued for grading.", QUEUED, "queued")
            for p in deferred
        ],
    )
    for _ in range(ATTEMPT_RACE_RETRIES):
        # The clock and the attempt count that decide are read here, in the transaction that
        # stores the submission, after grading: a submission whose grading ends after
        # closes_at is refused, and racing submissions cannot both take the last attempt.
        try:
            now, late, attempt = _admit(assignment, user)
        except SubmissionRefused:
            db.session.rollback()
            raise
        submission = Submission(
            user_id=user.id,
            exercise_version_id=version.id,
            assignment_id=assignment.id if assignment is not None else None,
            attempt=attempt,
            late=late,
            answers=answers,
            seed=seed,
            max_score=spec.max_score,
            source=source,
            api_token_id=api_token.id if api_token else None,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            created_at=now,
            graded_at=None if waiting else now,
        )
        try:
            outbox = record_parts(submission, [r.to_dict() for r in results])
            submission_id, status = submission.id, submission.status
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()
            if idempotency_key and api_token is not None:
                previous = _find_idempotent(api_token, idempotency_key)
                if previous is not None:  # a replay, or a concurrent request with the same key
                    return _replay(previous, fingerprint)
            if assignment is None:
                raise
            # Another submission of this user took the attempt number: count again.
    else:
        raise RuntimeError(f"could not number an attempt in {ATTEMPT_RACE_RETRIES} tries")
    count_submission(spec.slug, (p.kind for p in spec.parts), status)
    grade_changed(submission_id, outbox)
    if waiting:
        _enqueue(submission_id)
        graded = find_submission(submission_id)  # graded meanwhile by the eager task, perhaps
        return (submission if graded is None else graded), True
    return submission, True


def _refuse_early(assignment: Assignment | None, user: User) -> None:
    """Raise the assignment's ``SubmissionRefused`` for a submission made now, before it is
    graded; the attempts are counted only when the assignment limits them."""
    check_open(assignment, utcnow())
    if assignment is not None and assignment.max_attempts is not None:
        check_attempt(assignment, next_attempt(assignment, user))


def _admit(assignment: Assignment | None, user: User) -> tuple[datetime, bool, int | None]:
    """Return (now, late, attempt number) for a submission of ``user`` to ``assignment`` made
    now; raise the assignment's ``SubmissionRefused`` (not open, closed, attempts used up)."""
    now = utcnow()
    late = check_open(assignment, now)
    if assignment is None:
        return now, late, None
    attempt = next_attempt(assignment, user)
    check_attempt(assignment, attempt)
    return now, late, attempt


def _prechecks(parts: list[Any], answers: Mapping[str, Any]) -> list[PartResult]:
    """Return ``invalid`` results for deferred answers that cannot even be run (e.g. a
    syntax error), so they are refused at once and cost no attempt, like any invalid input."""
    found = []
    for part in parts:
        result = get_kind(part.kind).precheck(part, answers[part.id])
        if result is not None and result.status == INVALID:
            found.append(result)
    return found


def _enqueue(submission_id: int) -> None:
    """Hand a stored, queued submission to the task queue (run now in the embedded default).

    If the broker cannot be reached the row stays ``queued`` and the sweeper re-queues it:
    the submission is stored either way.
    """
    try:
        current_app.extensions[ENQUEUE](submission_id)
    except Exception:
        log.exception("could not queue submission %s; the sweeper will retry", submission_id)


def _in_spec_order(spec: ExerciseSpec, results: list[PartResult]) -> list[PartResult]:
    order = {part.id: index for index, part in enumerate(spec.parts)}
    return sorted(results, key=lambda r: order[r.part_id])


class ResultNotStored(RuntimeError):
    """The queued parts were graded (the student's code ran) but the result was not stored."""


def finish_deferred(submission_id: int) -> str:
    """Grade the queued parts of a submission and store the result; return its new status.

    Idempotent: a submission that is no longer queued is left alone (a redelivered task).
    Raises ResultNotStored when grading ran but storing failed: the caller must not grade
    again (that would run the student's code again), only record the failure.
    """
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.status != Status.QUEUED:
        return "skipped"
    spec = spec_of(submission.version)
    waiting = {p["id"] for p in submission.parts if p.get("status") == QUEUED}
    fresh = grade_answers(spec, submission.answers, submission.seed, only=lambda p: p.id in waiting)
    try:
        status, outbox = _store_deferred(submission, {r.part_id: r.to_dict() for r in fresh})
    except Exception as exc:
        db.session.rollback()
        raise ResultNotStored(
            f"the graded result could not be stored: {type(exc).__name__}: {exc}"
        ) from exc
    if status != "skipped":
        count_submission(spec.slug, (p.kind for p in spec.parts), status)
        grade_changed(submission_id, outbox)
    return status


def _store_deferred(
    submission: Submission, graded: dict[str, dict[str, Any]]
) -> tuple[str, Outbox]:
    """Store the ``graded`` results (by part id) of a queued submission's queued parts; return
    its new status or "skipped", and what the change wrote for its receivers
    (``events.write_outbox``)."""
    # First writer wins: a task delivered twice (broker redelivery and the sweeper) may grade
    # in two places at once; only the update that still finds the row queued stores anything
    # (it also locks the row until this transaction ends).
    claimed: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == Status.QUEUED)
        .values(graded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return "skipped", {}
    # Read the parts again under that lock: an instructor may have reviewed another part while
    # this one was graded, and the copy read before grading would overwrite that review.
    db.session.refresh(submission)
    parts = [graded.get(p["id"], p) if p.get("status") == QUEUED else p for p in submission.parts]
    outbox = record_parts(submission, parts)
    status = submission.status
    db.session.commit()
    return status, outbox


def mark_failed(submission_id: int, reason: str) -> None:
    """Record that grading a queued submission failed for good: status ``error`` with a reason."""
    db.session.rollback()
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.status != Status.QUEUED:
        return
    failed = {
        "status": ERROR,
        "score": 0.0,
        "feedback": "Grading failed; an instructor has been told.",
    }
    outbox = record_parts(
        submission, [p | failed if p.get("status") == QUEUED else p for p in submission.parts]
    )
    submission.error = storable(reason[:2000])
    submission.graded_at = utcnow()
    slug, kinds = submission.version.exercise.slug, _kinds_of(submission)
    db.session.commit()
    count_submission(slug, kinds, Status.ERROR)
    grade_changed(submission_id, outbox)


def _kinds_of(submission: Submission) -> list[str]:
    return [p.kind for p in spec_of(submission.version).parts]


def stale_queued(older_than: timedelta) -> list[int]:
    """Return the ids of submissions still ``queued`` and created before ``older_than`` ago."""
    cutoff = utcnow() - older_than
    return list(
        db.session.scalars(
            select(Submission.id).where(
                Submission.status == "queued", Submission.created_at < cutoff
            )
        )
    )


def _find_idempotent(token: ApiToken, key: str | None) -> Submission | None:
    if key is None:
        return None
    return db.session.scalar(
        select(Submission).where(
            Submission.api_token_id == token.id, Submission.idempotency_key == key
        )
    )


def _replay(previous: Submission, fingerprint: str) -> tuple[Submission, bool]:
    if previous.request_hash != fingerprint:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body"
        )
    return previous, False


PUBLIC_PART_FIELDS = ("id", "score", "max_score", "correct", "feedback", "status")


def find_submission(submission_id: int) -> Submission | None:
    """Return a stored submission with what its result object reads (version, exercise, user,
    assignment) loaded in the same query, or None."""
    return db.session.get(
        Submission,
        submission_id,
        options=[
            joinedload(Submission.version).joinedload(ExerciseVersion.exercise),
            joinedload(Submission.user),
            joinedload(Submission.assignment),  # its feedback level decides what is shown
        ],
        populate_existing=True,  # objects a commit expired are refreshed by this same query
    )


def result_object(submission: Submission, level: str | None = None) -> dict[str, Any]:
    """Return the result object of DESIGN section 9 for a stored submission, its parts'
    feedback at ``level`` (default: the feedback level of the submission's assignment, what
    its student may see; pass ``FeedbackLevel.FULL`` for an instructor)."""
    version = submission.version
    if level is None:
        level = feedback_level(submission.assignment)
    parts = student_parts(submission.parts or [], level, spec_of(version))
    return {
        "id": submission.id,
        "exercise": version.exercise.slug,
        "version": version.number,
        "user": submission.user.public_id,
        "status": submission.status,
        "score": submission.score,
        "max_score": submission.max_score,
        "seed": submission.seed,
        "parts": [{key: part.get(key) for key in PUBLIC_PART_FIELDS} for part in parts],
        "created_at": iso(submission.created_at),
        "graded_at": iso(submission.graded_at),
        "updated_at": iso(submission.updated_at),
    }


def offline_result(slug: str, spec: ExerciseSpec, answers: Any, seed: int) -> dict[str, Any]:
    """Return a result object for answers graded without storing them (``grader grade``)."""
    answers = check_answers(spec, answers)
    results = grade_answers(spec, answers, seed)
    parts = [dict(r.to_dict(), score=None) if r.status in PENDING else r.to_dict() for r in results]
    return {
        "id": None,
        "exercise": slug,
        "version": None,
        "user": None,
        "status": "invalid"
        if any(r.status == INVALID for r in results)
        else overall_status(r.status for r in results),
        "score": total_score(parts),
        "max_score": spec.max_score,
        "seed": seed,
        "parts": [{key: part[key] for key in PUBLIC_PART_FIELDS} for part in parts],
        "created_at": None,
        "graded_at": None,
        "updated_at": None,
    }
