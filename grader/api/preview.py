"""REST API v1: preview an answer before submitting it (how the server reads it).

A kind plugs in here in one place: either it has a ``preview(part, answer, exercise) -> dict``
method of its own (returning the fields of ``schemas.Preview`` other than ``part`` and
``kind``), or a function is registered below with ``@previewer("<kind>")``. Kinds without
either answer 422 ``no-preview``.
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
from grader.mathexpr import FormulaError, Namespace, parse, to_latex, to_mathml, to_source
from grader.services.exercises import spec_of

PreviewFunction = Callable[[Any, Any, ExerciseSpec], dict[str, Any]]
_PREVIEWS: dict[str, PreviewFunction] = {}
MAX_PREVIEW_CHARS = 2000
MEMORY_SIZES = ("n",)  # the batch size, besides the exercise's dims


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


def formula_namespace(spec: ExerciseSpec, part_id: str) -> Namespace:
    """Return the names a formula answer to ``part_id`` may use: the exercise's variables
    (with aliases), its model names and the earlier parts' ids; the chapter's names when the
    exercise declares no variables."""
    if not spec.variables and not spec.model:
        return Namespace.chapter()
    variables: dict[str, Any] = {name: v.shape for name, v in spec.variables.items()}
    variables.update({name: None for name in spec.model if name not in variables})
    for part in spec.parts:
        if part.id == part_id:
            break
        variables.setdefault(part.id, None)
    return Namespace(
        variables=variables,
        aliases={name: v.aliases for name, v in spec.variables.items() if v.aliases},
        sizes=tuple(spec.dims),
        functions={"l": 2},
        activations=tuple(spec.functions) or ("phi",),
    )


def _render_formula(text: str, namespace: Namespace) -> dict[str, Any]:
    try:
        tree = parse(text, namespace)
    except FormulaError as exc:
        return {"valid": False, "error": {"message": exc.message, "column": exc.column}}
    return {"valid": True, "source": to_source(tree), "latex": to_latex(tree),
            "mathml": to_mathml(tree)}


@previewer("formula")
def preview_formula(part: Any, answer: Any, spec: ExerciseSpec) -> dict[str, Any]:
    """Return the canonical form, LaTeX and MathML of a formula, or its error and column."""
    return _render_formula(_text(answer), formula_namespace(spec, part.id))


@previewer("memory")
def preview_memory(part: Any, answer: Any, spec: ExerciseSpec) -> dict[str, Any]:
    """Return the renderings of a memory count, a formula over the sizes and the batch n."""
    sizes = dict.fromkeys((*spec.dims, *MEMORY_SIZES), [])
    return _render_formula(_text(answer), Namespace(variables=sizes))


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
