"""The exercise format (DESIGN section 5) as pydantic models.

``ExerciseSpec`` validates one YAML file; its ``parts`` are a union of the registered kinds'
part models, so an unknown kind fails here, when the file is loaded. Cross-field rules (unique
part ids, shapes that name declared sizes, examples that name real parts) are checked here too;
kind-specific rules that need the whole exercise are the kinds' ``check``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

import grader.kinds  # registers every kind before the union is built
from grader.kinds.registry import get_kind, kind_names, part_union

if set(kind_names()) != set(grader.kinds.KIND_MODULES):  # a kind imported spec too early
    raise ImportError(
        "grader.kinds.spec was imported while the kinds were still registering (only "
        f"{', '.join(kind_names())} of {', '.join(grader.kinds.KIND_MODULES)}): a kind module "
        "imports spec or instances at module level; import it inside a function instead"
    )

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
ACTIVATIONS = ("tanh", "sigmoid", "softplus", "relu")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableSpec(_Strict):
    """A named input of the model: its shape in size names, its value range, its aliases."""

    shape: list[str | int] = Field(
        default_factory=list, description="Sizes, e.g. [h, d]; [] is a scalar, [d] a column"
    )
    range: tuple[float, float] = Field((-1.0, 1.0), description="Values drawn uniformly here")
    aliases: list[str] = Field(default_factory=list, description="Other spellings, e.g. [λ]")
    role: Literal["input", "parameter", "constant"] = Field(
        "input", description="parameter: trained (memory accounting, code outputs)"
    )
    description: str = ""

    @field_validator("range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not value[0] < value[1]:
            raise ValueError("range must be [low, high] with low < high")
        return value


class FunctionSpec(_Strict):
    """A function bound per trial, e.g. ``phi`` drawn from a list of activations."""

    choices: list[str] = Field(min_length=1, description=f"Any of {', '.join(ACTIVATIONS)}")

    @field_validator("choices")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ACTIVATIONS]
        if unknown:
            raise ValueError(
                f"unknown activation {unknown[0]!r}; choose from {', '.join(ACTIVATIONS)}"
            )
        return value


class GradingSpec(_Strict):
    """How many random instances a numeric answer is checked on, and the tolerances."""

    trials: int = Field(5, ge=1, le=50)
    rtol: float = Field(1e-6, gt=0, lt=1)
    atol: float = Field(1e-9, ge=0, lt=1)


class Example(_Strict):
    """An answer the instructor lists with the verdict it must get (run by the self-test)."""

    part: str
    answer: Any
    correct: bool
    feedback: str | None = Field(None, description="A phrase the feedback must contain")
    score: float | None = None


class ExerciseSpec(_Strict):
    """One exercise file."""

    # Random instances already traced for this spec (grader.kinds.instances), by instance
    # number, with the reference values computed on them, and by ("sizes", number) the sizes of
    # instances not traced yet: shared by every submission graded against this spec object.
    _instances: dict[int | tuple[str, int], Any] = PrivateAttr(default_factory=dict)

    slug: str = Field(pattern=SLUG_PATTERN, description="Lower-case id used in URLs")
    title: str = Field(min_length=1, max_length=300)
    order: float | None = Field(
        None,
        ge=0,
        le=10_000,
        description="Place in the exercise list (the chapter's numbering: 1, 2.1, 2.2, ...); "
        "exercises without one come after, by title",
    )
    prompt: str = Field("", description="Markdown with $math$")
    dims: dict[str, tuple[int, int]] = Field(
        default_factory=dict, description="Size names with [min, max]; trials draw distinct sizes"
    )
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    functions: dict[str, FunctionSpec] = Field(default_factory=dict)
    model: dict[str, str] = Field(default_factory=dict, description="name: formula, in order")
    grading: GradingSpec = Field(default_factory=GradingSpec)
    parts: list[part_union()] = Field(min_length=1)  # type: ignore[valid-type]
    examples: list[Example] = Field(default_factory=list)

    @field_validator("dims")
    @classmethod
    def _dims(cls, value: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        for name, (low, high) in value.items():
            if not NAME_PATTERN.match(name):
                raise ValueError(f"size name {name!r} is not a plain name")
            if not 1 <= low <= high <= 4096:
                raise ValueError(f"size {name}: need 1 <= min <= max <= 4096, got [{low}, {high}]")
        return value

    def cross_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Return violations of the rules that span fields, each located from the root."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for index, part in enumerate(self.parts):
            if part.id in seen:
                problems.append((("parts", index, "id"), f"part id {part.id!r} is used twice"))
            seen.add(part.id)
        for name, variable in self.variables.items():
            if not NAME_PATTERN.match(name):
                problems.append((("variables", name), f"{name!r} is not a plain name"))
            for size in variable.shape:
                if isinstance(size, str) and size not in self.dims:
                    problems.append(
                        (
                            ("variables", name, "shape"),
                            f"size {size!r} of variable {name} is not declared under dims",
                        )
                    )
        for name in sorted(set(self.variables) & set(self.model)):
            problems.append((("model", name), f"{name!r} is both a variable and a model name"))
        if self.dims:
            span = len({v for low, high in self.dims.values() for v in range(low, high + 1)})
            if span < len(self.dims):
                problems.append(
                    (
                        ("dims",),
                        f"the ranges hold only {span} distinct sizes for {len(self.dims)} "
                        "names; widen them so each trial can draw distinct sizes",
                    )
                )
        for index, example in enumerate(self.examples):
            if example.part not in seen:
                problems.append((("examples", index, "part"), f"there is no part {example.part!r}"))
        return problems

    def part(self, part_id: str) -> Any:
        """Return the part with ``part_id``; raise ``KeyError`` if there is none."""
        for part in self.parts:
            if part.id == part_id:
                return part
        raise KeyError(part_id)

    @property
    def max_score(self) -> float:
        """Return the sum of the parts' points."""
        return float(sum(part.points for part in self.parts))

    def kind_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Return the kinds' own checks of each part, located from the exercise's root."""
        problems = []
        for index, part in enumerate(self.parts):
            for location, message in get_kind(part.kind).check(part, self):
                problems.append((("parts", index, *location), message))
        return problems

    def public(self) -> dict[str, Any]:
        """Return what students and API clients may see: no references, keys or mistakes."""
        return {
            "slug": self.slug,
            "title": self.title,
            "prompt": self.prompt,
            "dims": {name: list(bounds) for name, bounds in self.dims.items()},
            "variables": {
                name: {"shape": v.shape, "aliases": v.aliases, "description": v.description}
                for name, v in self.variables.items()
            },
            "functions": {name: f.choices for name, f in self.functions.items()},
            "parts": [get_kind(part.kind).public(part, self) for part in self.parts],
            "max_score": self.max_score,
        }
