"""REST API v1: exercises and submissions. Thin views over the services."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, jsonify, request, url_for

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.courses import acting_course, add_course_rule, reading_course_ids
from grader.api.openapi import api_spec, responses
from grader.api.paging import decode_text_cursor, encode_text_cursor, page_links
from grader.api.problems import ApiProblem
from grader.api.schemas import (
    SLUG_PATTERN,
    ExerciseDetail,
    ExercisePage,
    PageQuery,
    Result,
    SubmissionRequest,
)
from grader.models import Assignment, Course, FeedbackLevel
from grader.services.access import submission_course_id
from grader.services.exercises import (
    ExerciseNotFound,
    assigned_version,
    list_current_versions,
    spec_of,
)
from grader.services.grading import (
    IdempotencyConflict,
    InvalidAnswers,
    MalformedAnswers,
    UnknownParts,
    find_submission,
    result_object,
    submit,
)
from grader.services.policy import SubmissionRefused, feedback_level
from grader.services.users import UserError, course_student

IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]{1,200}\Z"
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL; a larger one names nothing


def exercise_not_found(slug: str) -> ApiProblem:
    """Return the 404 problem for an exercise that does not exist or is not assigned in the
    course the request acts in (one answer for both)."""
    return ApiProblem(404, "exercise-not-found", "Not Found", f"No exercise {slug!r}.")


def assigned_or_404(course: Course, slug: str) -> tuple[Any, Assignment]:
    """Return the current version of exercise ``slug`` and its assignment in ``course``; raise
    the 404 problem when there is no such exercise or ``course`` does not assign it."""
    try:
        if not re.match(SLUG_PATTERN, slug):
            raise ExerciseNotFound(slug)  # no such slug can exist; do not ask the database
        version, assignment = assigned_version(course, slug)
    except ExerciseNotFound:
        raise exercise_not_found(slug) from None
    if assignment is None:
        raise exercise_not_found(slug)
    return version, assignment


@bp.get("/exercises")
@require_scope("read:scores")
@api_spec.validate(
    query=PageQuery, resp=responses({200: ExercisePage}, 400, 404, 422), tags=["exercises"]
)
def list_exercises(query: PageQuery, course: str | None = None) -> Response:
    """List exercises.

    Every exercise assigned in the course: slug, title, current version, parts and max
    score, ordered by slug. Scope: read:scores.
    """
    after = decode_text_cursor(query.cursor)
    assigned = {a.exercise_id for a in acting_course(course).assignments}
    versions = [
        v
        for v in list_current_versions(("live",))
        if v.exercise_id in assigned and (after is None or v.exercise.slug > after)
    ]
    page, more = versions[: query.limit], len(versions) > query.limit
    items = []
    for version in page:
        spec = spec_of(version)
        items.append(
            {
                "slug": spec.slug,
                "title": spec.title,
                "version": version.number,
                "parts": [{"id": p.id, "kind": p.kind, "points": p.points} for p in spec.parts],
                "max_score": spec.max_score,
            }
        )
    next_cursor = encode_text_cursor(str(items[-1]["slug"])) if more else None
    return jsonify(items=items, links=page_links(next_cursor))


@bp.get("/exercises/<slug>")
@require_scope("read:scores")
@api_spec.validate(resp=responses({200: ExerciseDetail}, 404), tags=["exercises"])
def get_exercise(slug: str, course: str | None = None) -> Response:
    """Read an exercise.

    The public spec of the current version: prompts, sizes, variables and parts; never
    references, keys or anticipated mistakes. 404 for an exercise the course does not
    assign. Scope: read:scores.
    """
    version, _ = assigned_or_404(acting_course(course), slug)
    return jsonify(spec_of(version).public() | {"version": version.number})


@bp.post("/exercises/<slug>/submissions")
@require_scope("submit")
@api_spec.validate(
    json=SubmissionRequest,
    resp=responses({200: Result, 201: Result, 202: Result}, *(400, 404, 409, 413, 415, 422)),
    tags=["submissions"],
)
def create_submission(slug: str, json: SubmissionRequest, course: str | None = None) -> Response:
    """Submit answers.

    Grades the answers of an LMS user (created on first use) and stores the submission:
    201 with the result, 202 with status "queued" when grading runs in the background (poll
    the Location), 200 with the first result when an Idempotency-Key is replayed. Answers that
    cannot be read (a parse error, an unknown name) are a 422 listing the parts; nothing is
    stored and no attempt is used. The course's assignment may refuse the submission with a
    409: not-open (before it opens), assignment-closed (after it closes), attempts-exhausted
    (its attempts are used up); nothing is stored then either. Scope: submit.
    """
    key = request.headers.get("Idempotency-Key")
    if key is not None and not re.match(IDEMPOTENCY_KEY_PATTERN, key):
        raise ApiProblem(
            400,
            "bad-idempotency-key",
            "Bad Request",
            "Idempotency-Key must be 1 to 200 printable ASCII characters.",
        )
    token = g.api_token
    in_course = acting_course(course)
    version, assignment = assigned_or_404(in_course, slug)
    try:
        user = course_student(in_course, json.user, token.issuer)
        submission, created = submit(
            slug,
            user,
            json.answers,
            "api",
            api_token=g.api_token,
            idempotency_key=key,
            version=version,
            assignment=assignment,
        )
    except UserError as exc:
        raise ApiProblem(422, "invalid-user", "Unprocessable Content", str(exc)) from None
    except UnknownParts as exc:
        raise ApiProblem(422, "unknown-part", "Unprocessable Content", str(exc)) from None
    except MalformedAnswers as exc:
        raise ApiProblem(422, "invalid-answers", "Unprocessable Content", str(exc)) from None
    except InvalidAnswers as exc:
        raise ApiProblem(
            422,
            "unreadable-answer",
            "Unprocessable Content",
            "Some answers could not be read; nothing was stored and no attempt was used.",
            parts=[{"id": r.part_id, "feedback": r.feedback} for r in exc.results],
        ) from None
    except IdempotencyConflict as exc:
        raise ApiProblem(422, "idempotency-key-reused", "Unprocessable Content", str(exc)) from None
    except SubmissionRefused as exc:
        raise ApiProblem(409, exc.code, "Conflict", str(exc)) from None
    status = 202 if submission.status == "queued" else (201 if created else 200)
    response = jsonify(result_object(submission, feedback_level(assignment)))
    response.status_code = status
    if course is None:
        location = url_for("api.get_submission", submission_id=submission.id)
    else:
        location = url_for("api.course_get_submission", course=course, submission_id=submission.id)
    response.headers["Location"] = location
    return response


@bp.get("/submissions/<int:submission_id>")
@require_scope("read:scores")
@api_spec.validate(resp=responses({200: Result}, 404), tags=["submissions"])
def get_submission(submission_id: int, course: str | None = None) -> Response:
    """Read a submission's result.

    The result object; poll it while status is "queued". 404 for a submission made in
    another course. Its parts' feedback is at the assignment's feedback level (what its
    student may see: full, hints or score-only); a token with the admin scope reads the full
    feedback. Scope: read:scores.
    """
    reach = reading_course_ids(course)
    submission = find_submission(submission_id) if submission_id <= MAX_ID else None
    if submission is not None and reach is not None:
        if submission_course_id(submission) not in reach:
            submission = None  # another course's: the same answer as none at all
    if submission is None:
        raise ApiProblem(
            404, "submission-not-found", "Not Found", f"No submission {submission_id}."
        )
    full = "admin" in g.api_token.scope_set
    return jsonify(result_object(submission, FeedbackLevel.FULL if full else None))


add_course_rule("/exercises", list_exercises, ["GET"])
add_course_rule("/exercises/<slug>", get_exercise, ["GET"])
add_course_rule("/exercises/<slug>/submissions", create_submission, ["POST"])
add_course_rule("/submissions/<int:submission_id>", get_submission, ["GET"])
