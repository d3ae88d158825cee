"""REST API v1: preview an answer before submitting it (how the server reads it).

The reading is ``grader.services.preview.preview_answer``: a kind previews through its own
``preview(part, answer, exercise) -> dict`` method (the fields of ``schemas.Preview`` other than
``part`` and ``kind``; formula, memory and shape have one). Other kinds answer 422
``no-preview``.
"""

from __future__ import annotations

from flask import Response, jsonify

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.courses import acting_course, add_course_rule
from grader.api.openapi import api_spec, responses
from grader.api.problems import ApiProblem
from grader.api.routes import assigned_or_404
from grader.api.schemas import Preview, PreviewRequest
from grader.services.exercises import spec_of
from grader.services.preview import PreviewError, preview_answer


@bp.post("/exercises/<slug>/preview")
@require_scope("submit")
@api_spec.validate(
    json=PreviewRequest, resp=responses({200: Preview}, 400, 404, 413, 415, 422), tags=["exercises"]
)
def preview(slug: str, json: PreviewRequest, course: str | None = None) -> Response:
    """Preview an answer.

    How the server reads an answer, without grading or storing it: for formula and memory
    parts the canonical form, LaTeX and MathML, or the error with its 1-based column; for
    shape parts the axes. 200 with valid=false when the answer cannot be read; 422 for
    kinds without a preview (choice, code, text, graph). Scope: submit.
    """
    version, _ = assigned_or_404(acting_course(course), slug)
    spec = spec_of(version)
    try:
        return jsonify(preview_answer(spec, json.part, json.answer))
    except PreviewError as exc:
        raise ApiProblem(422, exc.kind, "Unprocessable Content", str(exc)) from None


add_course_rule("/exercises/<slug>/preview", preview, ["POST"])
