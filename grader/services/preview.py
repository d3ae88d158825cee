"""Previewing an answer: how the server reads it, without grading or storing anything.

The API's preview route and the web page's live preview both call ``preview_answer``, so they
read an answer alike. Each kind that can preview has a ``preview(part, answer, exercise)``
method (formula, memory, shape); the others raise ``PreviewError``.

An answer that reads may still be impossible: ``h W2 + b2`` parses, but its sizes do not fit.
The preview grades a readable answer on one fixed instance and reports a *shape* diagnosis (the
sizes do not fit, or the result has the wrong shape) as ``problem``; nothing else of the grade
is shown, so the preview never says whether an answer is right.
"""

from __future__ import annotations

from typing import Any

from grader.kinds.registry import get_kind
from grader.kinds.spec import ExerciseSpec
from grader.services.grading import grade_answers

MAX_PREVIEW_CHARS = 2000
PREVIEW_SEED = 0  # the instance a preview checks sizes on (any fixed one: sizes are drawn >= 2)


class PreviewError(ValueError):
    """Raised when an answer cannot be previewed; ``kind`` is a stable machine-readable key
    (``unknown-part``, ``no-preview``, ``invalid-answer``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def preview_answer(spec: ExerciseSpec, part_id: str, answer: Any) -> dict[str, Any]:
    """Return ``{"part", "kind", "valid", ...}`` for ``answer`` to part ``part_id``.

    Raises ``PreviewError`` for an unknown part, a kind without a preview, or an answer that
    is not text or is too long.
    """
    try:
        part = spec.part(part_id)
    except KeyError:
        known = ", ".join(p.id for p in spec.parts)
        raise PreviewError(
            "unknown-part", f"No part {part_id!r}; this exercise has: {known}."
        ) from None
    kind = get_kind(part.kind)
    if not kind.previews:
        raise PreviewError(
            "no-preview",
            f"Part {part_id!r} is a {part.kind} part, which has no "
            "preview; submit the answer to have it graded.",
        )
    if not isinstance(answer, str):
        raise PreviewError("invalid-answer", "This part's answer is a string.")
    if len(answer) > MAX_PREVIEW_CHARS:
        raise PreviewError(
            "invalid-answer", f"An answer to preview has at most {MAX_PREVIEW_CHARS} characters."
        )
    reading = {"part": part.id, "kind": part.kind} | kind.preview(part, answer, spec)
    if reading.get("valid") and answer.strip():
        problem = shape_problem(spec, part.id, answer)
        if problem:
            reading["problem"] = {"message": problem, "column": None}
    return reading


def shape_problem(spec: ExerciseSpec, part_id: str, answer: str) -> str | None:
    """Return the grader's message when ``answer`` cannot have the part's shape (its sizes do
    not fit together, or its result has another shape than the part's), else None."""
    (result,) = grade_answers(spec, {part_id: answer}, PREVIEW_SEED, lambda p: p.id == part_id)
    return result.feedback if result.diagnosis == "shape" else None
