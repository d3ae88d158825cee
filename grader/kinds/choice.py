"""The ``choice`` kind: one or several options out of a list, graded by key.

With ``multiple: true`` every option is a statement to judge: the score is the share of the
correct options chosen, less one share per wrong option chosen, never below zero.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.kinds.base import GRADED, GradingContext, KindBase, PartResult, PartSpec, SelfTestCase
from grader.kinds.registry import register


class ChoiceOption(BaseModel):
    """One option: an id the answer uses, the text shown, feedback for choosing it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    text: str = Field(min_length=1)
    feedback: str = Field("", description="Shown when a student chooses this option wrongly")


class ChoicePart(PartSpec):
    """A part answered by choosing option ids."""

    kind: Literal["choice"]
    options: list[ChoiceOption] = Field(min_length=2)
    answer: list[str] = Field(min_length=1, description="The ids of the correct options")
    multiple: bool = Field(False, description="Whether several options may be chosen")

    @model_validator(mode="after")
    def _consistent(self) -> ChoicePart:
        ids = [option.id for option in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        unknown = [key for key in self.answer if key not in ids]
        if unknown:
            raise ValueError(f"answer names option {unknown[0]!r}, which is not listed")
        if not self.multiple and len(self.answer) != 1:
            raise ValueError("a single-answer part needs exactly one correct option")
        return self


@register
class ChoiceKind(KindBase):
    """Grades option ids against the key."""

    name: ClassVar[str] = "choice"
    part_model: ClassVar[type[PartSpec]] = ChoicePart
    private_fields: ClassVar[frozenset[str]] = frozenset({"answer"})

    def public(self, part: ChoicePart, exercise: Any = None) -> dict[str, Any]:
        """Return the part without its key or the per-option feedback."""
        data = super().public(part, exercise)
        data["options"] = [{"id": o.id, "text": o.text} for o in part.options]
        return data

    def grade(self, part: ChoicePart, answer: Any, ctx: GradingContext) -> PartResult:
        """Grade a list of option ids (a single id as a string is accepted too)."""
        if isinstance(answer, str):
            answer = [answer]
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            return PartResult.invalid(part, "Choose options by their ids, as a list.")
        chosen = list(dict.fromkeys(answer))
        options = {option.id: option for option in part.options}
        unknown = [key for key in chosen if key not in options]
        if unknown:
            listed = ", ".join(options)
            return PartResult.invalid(
                part, f"There is no option {unknown[0]!r}; options: {listed}."
            )
        if not chosen:
            return PartResult.invalid(part, "Choose an option.")
        if not part.multiple and len(chosen) > 1:
            return PartResult.invalid(part, "Choose exactly one option.")
        key = set(part.answer)
        right = [c for c in chosen if c in key]
        wrong = [c for c in chosen if c not in key]
        missed = [k for k in part.answer if k not in chosen]
        share = max(0.0, (len(right) - len(wrong)) / len(key))
        score = round(part.points * share, 6)
        if not wrong and not missed:
            return PartResult(
                part.id, part.points, part.points, True, "Correct.", GRADED, "correct"
            )
        notes = [options[c].feedback or f"Option {c} is not right." for c in wrong]
        if missed and part.multiple:
            notes.append(f"{len(missed)} correct option(s) not chosen.")
        diagnosis = "option:" + ",".join(sorted(wrong)) if wrong else "incomplete"
        return PartResult(part.id, score, part.points, False, " ".join(notes), GRADED, diagnosis)

    def hint_for_diagnosis(self, part: ChoicePart, diagnosis: str) -> str | None:
        """Return the hint of a choice: the chosen options that are wrong (the student's own
        choice), or that some right ones are missing; never the key, never an option's own
        feedback (which may explain the right answer)."""
        key, _, rest = diagnosis.partition(":")
        if key == "option":
            chosen = rest.split(",")
            return f"Option{'' if len(chosen) == 1 else 's'} {', '.join(chosen)} " + (
                "is not right." if len(chosen) == 1 else "are not right."
            )
        if diagnosis == "incomplete":
            return "Some right options are not chosen."
        return None

    def self_test_cases(self, part: ChoicePart, exercise: Any) -> list[SelfTestCase]:
        """Return the key (correct) and each wrong option alone (wrong)."""
        cases = [SelfTestCase(list(part.answer), True, label="key")]
        for option in part.options:
            if option.id not in part.answer:
                cases.append(
                    SelfTestCase([option.id], False, option.feedback or None, f"option {option.id}")
                )
        return cases
