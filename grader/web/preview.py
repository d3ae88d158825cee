"""The live preview of an answer while the student types (same origin: the session cookie and
the CSRF token), answered by ``services.preview`` like the API's preview, so both read an
answer alike.
"""

from __future__ import annotations

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from grader.services.exercises import ExerciseNotFound, current_version, spec_of
from grader.services.preview import PreviewError, preview_answer
from grader.web.blueprint import bp
from grader.web.mathlabel import label_math


@bp.post("/exercises/<slug>/preview")
@login_required
def preview(slug: str) -> ResponseReturnValue:
    """Return how the server reads ``{"part", "answer"}``: ``{"valid": true, "source",
    "mathml"?, ...}`` or ``{"valid": false, "error": {"message", "column"}}``; 400 for a
    malformed request, 404 for an unknown exercise, 422 for a part without a preview."""
    body = request.get_json(silent=True)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("part"), str)
        or not isinstance(body.get("answer"), str)
    ):
        return jsonify(
            valid=False, error={"message": 'Send {"part": "...", "answer": "..."}.', "column": None}
        ), 400
    try:
        spec = spec_of(current_version(slug))
    except ExerciseNotFound:
        abort(404)
    if not body["answer"].strip():
        return jsonify(part=body["part"], valid=True, source="")
    try:
        reading = preview_answer(spec, body["part"], body["answer"])
    except PreviewError as exc:
        return jsonify(valid=False, error={"message": str(exc), "column": None}), 422
    if reading.get("mathml"):
        reading = reading | {"mathml": str(label_math(reading["mathml"]))}
    return jsonify(reading)
