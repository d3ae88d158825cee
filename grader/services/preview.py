"""Previewing an answer: how the server reads it, without grading or storing anything.

The API's preview route and the web page's live preview both call ``preview_answer``, so they
read an answer alike. Each kind that can preview has a ``preview(part, answer, exercise)``
method (formula, memory, shape); the others raise ``PreviewError``.
"""

from __future__ import annotations

from typing import Any

from grader.kinds.registry import get_kind
from grader.kinds.spec import ExerciseSpec

MAX_PREVIEW_CHARS = 2000


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
    return {"part": part.id, "kind": part.kind} | kind.preview(part, answer, spec)
