"""The live preview of formula answers (same-origin, session and CSRF token): parse with the
formula language and return MathML, or the parse error with its column."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import Markup, escape

from grader.kinds.spec import ExerciseSpec
from grader.mathexpr import FormulaError, Namespace, parse, to_latex, to_mathml, to_source
from grader.services.exercises import ExerciseNotFound, current_version, spec_of
from grader.web.blueprint import bp

MAX_PREVIEW_CHARS = 2000


def formula_namespace(spec: ExerciseSpec) -> Namespace:
    """Return the names a formula answer to ``spec`` may use: its variables (with aliases), its
    model quantities, earlier parts by id, its sizes and activations; the chapter's names when
    the exercise declares none."""
    if not spec.variables and not spec.model:
        return Namespace.chapter()
    variables: dict[str, Any] = {name: v.shape for name, v in spec.variables.items()}
    for name in spec.model:
        variables.setdefault(name, None)
    for part in spec.parts:
        variables.setdefault(part.id, None)
    try:
        return Namespace(
            variables=variables,
            aliases={name: v.aliases for name, v in spec.variables.items() if v.aliases},
            sizes=tuple(spec.dims),
            functions={"l": 2},
            activations=tuple(spec.functions),
        )
    except ValueError:
        return Namespace.chapter()


def preview_formula(text: str, namespace: Namespace) -> dict[str, Any]:
    """Return ``{"ok": True, "mathml", "latex", "source"}`` or ``{"ok": False, "error",
    "column"}`` (1-based) for a formula text."""
    if len(text) > MAX_PREVIEW_CHARS:
        return {"ok": False, "error": f"The formula is longer than {MAX_PREVIEW_CHARS} "
                                      "characters.", "column": MAX_PREVIEW_CHARS}
    try:
        tree = parse(text, namespace)
    except FormulaError as exc:
        return {"ok": False, "error": exc.message, "column": exc.column}
    return {"ok": True, "mathml": to_mathml(tree), "latex": to_latex(tree),
            "source": to_source(tree)}


def formula_markup(text: str, spec: ExerciseSpec) -> Markup | None:
    """Return a student's formula as MathML for display, or None when it does not parse."""
    result = preview_formula(text, formula_namespace(spec))
    return Markup(result["mathml"]) if result["ok"] else None


@bp.post("/exercises/<slug>/preview")
@login_required
def preview(slug: str) -> ResponseReturnValue:
    """Return the preview of ``{"part", "answer"}`` as JSON (400 for a malformed request)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("answer"), str):
        return jsonify(ok=False, error="Send {\"part\": ..., \"answer\": \"...\"}."), 400
    try:
        spec = spec_of(current_version(slug))
    except ExerciseNotFound:
        abort(404)
    if body.get("part") not in {part.id for part in spec.parts}:
        return jsonify(ok=False, error=f"No part {escape(str(body.get('part')))}."), 400
    if not body["answer"].strip():
        return jsonify(ok=True, mathml="", latex="", source="")
    return jsonify(preview_formula(body["answer"], formula_namespace(spec)))
