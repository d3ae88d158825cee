"""REST API v1: preview an answer before submitting it (how the server reads it).

A kind plugs in here in one place: either it has a ``preview(part, answer, exercise) -> dict``
method of its own (returning the fields of ``schemas.Preview`` other than ``part`` and
``kind``; the formula and memory kinds do), or a function is registered below with
``@previewer("<kind>")`` (shape). Kinds without either answer 422 ``no-preview``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.openapi import api_spec, responses
from grader.api.problems import ApiProblem
from grader.api.routes import version_or_404
from grader.api.schemas import Preview, PreviewRequest
from grader.kinds.registry import get_kind
from grader.kinds.shape import ShapeError, parse_shape
from grader.kinds.spec import ExerciseSpec
from grader.services.exercises import spec_of

PreviewFunction = Callable[[Any, Any, ExerciseSpec], dict[str, Any]]
_PREVIEWS: dict[str, PreviewFunction] = {}
MAX_PREVIEW_CHARS = 2000


def previewer(kind: str) -> Callable[[PreviewFunction], PreviewFunction]:
    """Register a preview function for the parts of ``kind`` (used as a decorator)."""

    def register(function: PreviewFunction) -> PreviewFunction:
        _PREVIEWS[kind] = function
        return function

    return register


def _text(answer: Any) -> str:
    if not isinstance(answer, str):
        raise ApiProblem(422, "invalid-answer", "Unprocessable Content",
                         "This part's answer is a string.")
    if len(answer) > MAX_PREVIEW_CHARS:
        raise ApiProblem(422, "invalid-answer", "Unprocessable Content",
                         f"An answer to preview has at most {MAX_PREVIEW_CHARS} characters.")
    return answer


@previewer("shape")
def preview_shape(part: Any, answer: Any, spec: ExerciseSpec) -> dict[str, Any]:
    """Return the axes of a shape as read (``["n", "m"]``), or why it cannot be read."""
    sizes = set(getattr(part, "sizes", [])) | set(spec.dims)
    try:
        axes = parse_shape(_text(answer), sizes)
    except ShapeError as exc:
        return {"valid": False, "error": {"message": str(exc), "column": None}}
    shape = ["·".join(axis) for axis in axes]
    return {"valid": True, "shape": shape, "source": "×".join(shape) or "scalar"}


def preview_answer(spec: ExerciseSpec, part_id: str, answer: Any) -> dict[str, Any]:
    """Return the preview of ``answer`` to part ``part_id``; raise ``ApiProblem`` (422) for an
    unknown part, a kind without a preview or an answer of the wrong type."""
    try:
        part = spec.part(part_id)
    except KeyError:
        known = ", ".join(p.id for p in spec.parts)
        raise ApiProblem(422, "unknown-part", "Unprocessable Content",
                         f"No part {part_id!r}; this exercise has: {known}.") from None
    own = getattr(get_kind(part.kind), "preview", None)
    function = own if callable(own) else _PREVIEWS.get(part.kind)
    if function is None:
        raise ApiProblem(422, "no-preview", "Unprocessable Content",
                         f"Part {part_id!r} is a {part.kind} part, which has no preview; "
                         "submit the answer to have it graded.")
    return {"part": part.id, "kind": part.kind} | function(part, answer, spec)


@bp.post("/exercises/<slug>/preview")
@require_scope("submit")
@api_spec.validate(json=PreviewRequest, resp=responses({200: Preview}, 400, 404, 413, 415, 422),
                   tags=["exercises"])
def preview(slug: str, json: PreviewRequest) -> Response:
    """Preview an answer.

    How the server reads an answer, without grading or storing it: for formula and memory
    parts the canonical form, LaTeX and MathML, or the error with its 1-based column; for
    shape parts the axes. 200 with valid=false when the answer cannot be read; 422 for
    kinds without a preview (choice, code, text, graph). Scope: submit.
    """
    spec = spec_of(version_or_404(slug))
    return jsonify(preview_answer(spec, json.part, json.answer))
