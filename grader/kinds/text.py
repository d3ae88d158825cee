"""The ``text`` kind: a free-text answer that an instructor grades by hand.

Grading only checks the answer is text within ``max_length`` and stores it as ``needs_review``
with score 0; ``grader.services.review.grade_review`` later sets the score. The ``rubric`` is
for the instructor and never shown to students.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from grader.kinds.base import (
    NEEDS_REVIEW,
    GradingContext,
    KindBase,
    PartResult,
    PartSpec,
    SelfTestCase,
)
from grader.kinds.registry import register

DEFAULT_MAX_LENGTH = 5000


class TextPart(PartSpec):
    """A part answered in prose, graded by an instructor against a rubric."""

    kind: Literal["text"]
    rubric: str = Field("", max_length=10_000, description="What earns the points (private)")
    max_length: int = Field(
        DEFAULT_MAX_LENGTH, ge=1, le=50_000, description="Longest answer accepted, in characters"
    )
    min_length: int = Field(1, ge=1, le=10_000, description="Shortest answer accepted")
    sample: str = Field(
        "", max_length=10_000, description="A model answer for the instructor (private)"
    )


@register
class TextKind(KindBase):
    """Stores free-text answers for review."""

    name: ClassVar[str] = "text"
    part_model: ClassVar[type[PartSpec]] = TextPart
    private_fields: ClassVar[frozenset[str]] = frozenset({"rubric", "sample"})

    def rubric(self, part: TextPart) -> str | None:
        """Return the part's rubric, or None when it has none."""
        return part.rubric or None

    def check(self, part: TextPart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Return a problem when the length limits contradict each other or the sample."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if part.min_length > part.max_length:
            problems.append((("min_length",), "min_length is larger than max_length"))
        if part.sample and len(part.sample.strip()) > part.max_length:
            problems.append((("sample",), "the sample answer is longer than max_length"))
        return problems

    def grade(self, part: TextPart, answer: Any, ctx: GradingContext) -> PartResult:
        """Return a ``needs_review`` result (score 0) for a text answer; invalid otherwise."""
        if not isinstance(answer, str):
            return PartResult.invalid(part, "Write your answer as text.")
        text = answer.strip()
        if len(text) < part.min_length:
            return PartResult.invalid(
                part,
                f"Write at least {part.min_length} characters." if text else "Write an answer.",
            )
        if len(text) > part.max_length:
            return PartResult.invalid(
                part, f"The answer is {len(text)} characters long; the limit is {part.max_length}."
            )
        return PartResult(
            part.id,
            0.0,
            part.points,
            False,
            "Your answer is stored; an instructor will grade it.",
            NEEDS_REVIEW,
            "needs-review",
            {"length": len(text)},
        )

    def hint(self, part: TextPart, result: Mapping[str, Any]) -> str:
        """Return the stored feedback: a text part's is the service's receipt or the
        reviewing instructor's own words, which no hint should replace."""
        return str(result.get("feedback") or "")

    def self_test_cases(self, part: TextPart, exercise: Any) -> list[SelfTestCase]:
        """Return the sample answer (if any), which must be stored for review, not graded."""
        if not part.sample:
            return []
        return [SelfTestCase(part.sample, False, "instructor will grade", "sample answer")]
