"""The drawn graphs of a submission, compared with their parts' references for the result
pages (the student's and the instructor's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.kinds.base import GRADED
from grader.kinds.graph import GraphPart, MarkedDrawing, marked_drawing
from grader.kinds.spec import ExerciseSpec


def marked_drawings(
    spec: ExerciseSpec, results: Mapping[str, Mapping[str, Any]], answers: Mapping[str, Any]
) -> dict[str, MarkedDrawing]:
    """Return, by part id, each graph answer that was graded and is not correct, with its edges
    marked against the reference (a correct or ungraded answer is drawn unmarked)."""
    drawings = {}
    for part in spec.parts:
        result = results.get(part.id)
        if not isinstance(part, GraphPart) or result is None or part.id not in answers:
            continue
        if result.get("status") != GRADED or result.get("correct"):
            continue
        marked = marked_drawing(part, spec, answers[part.id])
        if marked is not None:
            drawings[part.id] = marked
    return drawings
