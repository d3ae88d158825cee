"""REST API v1 routes: thin views over the services."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from grader.api.auth import require_scope
from grader.api.problems import ApiProblem
from grader.extensions import db
from grader.models import Submission
from grader.services.exercises import (
    ExerciseNotFound,
    current_version,
    list_current_versions,
    spec_of,
)
from grader.services.grading import (
    IdempotencyConflict,
    InvalidAnswers,
    UnknownParts,
    result_object,
    submit,
)
from grader.services.users import UserError, lms_user

bp = Blueprint("api", __name__)


def _json_body() -> dict[str, Any]:
    """Return the request's JSON object; raise a 415/400 problem otherwise."""
    if not request.is_json:
        raise ApiProblem(415, "unsupported-media-type", "Unsupported Media Type",
                         "Send the body as application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, "malformed-json", "Bad Request", "The body is not a JSON object.")
    return body


def _version_or_404(slug: str) -> Any:
    try:
        return current_version(slug)
    except ExerciseNotFound:
        raise ApiProblem(404, "exercise-not-found", "Not Found", f"No exercise {slug!r}.") from None


@bp.get("/exercises")
@require_scope("read:scores")
def list_exercises() -> ResponseReturnValue:
    """Return every exercise's slug, title, version, parts and max score."""
    items = []
    for version in list_current_versions():
        spec = spec_of(version)
        items.append({
            "slug": spec.slug,
            "title": spec.title,
            "version": version.number,
            "parts": [{"id": p.id, "kind": p.kind, "points": p.points} for p in spec.parts],
            "max_score": spec.max_score,
        })
    return jsonify(items=items)


@bp.get("/exercises/<slug>")
@require_scope("read:scores")
def get_exercise(slug: str) -> ResponseReturnValue:
    """Return the public spec of an exercise (never references, keys or mistakes)."""
    version = _version_or_404(slug)
    return jsonify(spec_of(version).public() | {"version": version.number})


@bp.post("/exercises/<slug>/submissions")
@require_scope("submit")
def create_submission(slug: str) -> ResponseReturnValue:
    """Grade and store a submission for an LMS user; 201 with the result (200 on a replay)."""
    body = _json_body()
    unknown = sorted(set(body) - {"user", "answers"})
    if unknown:
        raise ApiProblem(422, "unknown-field", "Unprocessable Content",
                         f"Unknown field(s): {', '.join(unknown)}; expected user and answers.")
    _version_or_404(slug)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise ApiProblem(400, "bad-idempotency-key", "Bad Request",
                         "Idempotency-Key must be 1 to 200 characters.")
    try:
        user = lms_user(body.get("user"))
        submission, created = submit(slug, user, body.get("answers"), "api",
                                     api_token=g.api_token, idempotency_key=key)
    except UserError as exc:
        raise ApiProblem(422, "invalid-user", "Unprocessable Content", str(exc)) from None
    except UnknownParts as exc:
        raise ApiProblem(422, "unknown-part", "Unprocessable Content", str(exc)) from None
    except TypeError as exc:
        raise ApiProblem(422, "invalid-answers", "Unprocessable Content", str(exc)) from None
    except InvalidAnswers as exc:
        raise ApiProblem(
            422, "unreadable-answer", "Unprocessable Content",
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
def get_submission(submission_id: int) -> ResponseReturnValue:
    """Return the result object of a stored submission."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise ApiProblem(404, "submission-not-found", "Not Found",
                         f"No submission {submission_id}.")
    return jsonify(result_object(submission))
