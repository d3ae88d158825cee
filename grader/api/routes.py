"""REST API v1: exercises and submissions. Thin views over the services."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, jsonify, request, url_for

from grader.api.auth import require_scope
from grader.api.blueprint import bp
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
from grader.models import CourseRole
from grader.services.courses import (
    assignment_for,
    default_course,
    enrol_committed,
    enrolment_of,
)
from grader.services.exercises import (
    ExerciseNotFound,
    current_version,
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
from grader.services.users import UserError, lms_user

IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]{1,200}\Z"
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL; a larger one names nothing


def version_or_404(slug: str) -> Any:
    """Return the current version of exercise ``slug``; raise a 404 problem if there is none."""
    try:
        if not re.match(SLUG_PATTERN, slug):
            raise ExerciseNotFound(slug)  # no such slug can exist; do not ask the database
        return current_version(slug)
    except ExerciseNotFound:
        raise ApiProblem(404, "exercise-not-found", "Not Found", f"No exercise {slug!r}.") from None


@bp.get("/exercises")
@require_scope("read:scores")
@api_spec.validate(
    query=PageQuery, resp=responses({200: ExercisePage}, 400, 422), tags=["exercises"]
)
def list_exercises(query: PageQuery) -> Response:
    """List exercises.

    Every exercise's slug, title, current version, parts and max score, ordered by slug.
    Scope: read:scores.
    """
    after = decode_text_cursor(query.cursor)
    versions = [
        v for v in list_current_versions(("live",)) if after is None or v.exercise.slug > after
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
def get_exercise(slug: str) -> Response:
    """Read an exercise.

    The public spec of the current version: prompts, sizes, variables and parts; never
    references, keys or anticipated mistakes. Scope: read:scores.
    """
    version = version_or_404(slug)
    return jsonify(spec_of(version).public() | {"version": version.number})


@bp.post("/exercises/<slug>/submissions")
@require_scope("submit")
@api_spec.validate(
    json=SubmissionRequest,
    resp=responses({200: Result, 201: Result, 202: Result}, *(400, 404, 413, 415, 422)),
    tags=["submissions"],
)
def create_submission(slug: str, json: SubmissionRequest) -> Response:
    """Submit answers.

    Grades the answers of an LMS user (created on first use) and stores the submission:
    201 with the result, 202 with status "queued" when grading runs in the background (poll
    the Location), 200 with the first result when an Idempotency-Key is replayed. Answers that
    cannot be read (a parse error, an unknown name) are a 422 listing the parts; nothing is
    stored and no attempt is used. Scope: submit.
    """
    key = request.headers.get("Idempotency-Key")
    if key is not None and not re.match(IDEMPOTENCY_KEY_PATTERN, key):
        raise ApiProblem(
            400,
            "bad-idempotency-key",
            "Bad Request",
            "Idempotency-Key must be 1 to 200 printable ASCII characters.",
        )
    version = version_or_404(slug)
    token = g.api_token
    course = token.course if token.course is not None else default_course()
    assignment = assignment_for(course, slug)
    if assignment is None:
        raise ApiProblem(404, "exercise-not-found", "Not Found", f"No exercise {slug!r}.")
    try:
        user = lms_user(json.user, token.issuer)
        if enrolment_of(course, user) is None:
            enrol_committed(course, user, CourseRole.STUDENT)
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
    status = 202 if submission.status == "queued" else (201 if created else 200)
    response = jsonify(result_object(submission))
    response.status_code = status
    response.headers["Location"] = url_for("api.get_submission", submission_id=submission.id)
    return response


@bp.get("/submissions/<int:submission_id>")
@require_scope("read:scores")
@api_spec.validate(resp=responses({200: Result}, 404), tags=["submissions"])
def get_submission(submission_id: int) -> Response:
    """Read a submission's result.

    The result object; poll it while status is "queued". Scope: read:scores.
    """
    submission = find_submission(submission_id) if submission_id <= MAX_ID else None
    if submission is None:
        raise ApiProblem(
            404, "submission-not-found", "Not Found", f"No submission {submission_id}."
        )
    return jsonify(result_object(submission))
