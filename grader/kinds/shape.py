"""The ``shape`` kind: the size of a gradient or Jacobian, written as a student would write it.

Accepted: ``n×m``, ``n x m``, ``nxm``, ``n*m``, ``(n, m)``, ``[n, m]``, ``n by m``, ``n-by-m``,
``n \times m``, ``R^{n×m}``,
``ℝ^(n×m)``, ``q`` for a vector, ``1`` or ``scalar`` for a scalar. A size is a name, a whole
number, or a product written with ``·`` (``q·h``). Shapes are compared as sizes: each name is
given a distinct prime, so ``h·q`` equals ``q·h`` and a transposed answer is recognised as such.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from grader.kinds.base import (
    GRADED,
    GradingContext,
    KindBase,
    Mistake,
    PartResult,
    PartSpec,
    SelfTestCase,
    authored_hint,
    hint_problems,
)
from grader.kinds.hints import SHAPE_HINTS
from grader.kinds.registry import register

MAX_ANSWER_LENGTH = 200
MAX_AXES = 8
_PRIMES = (101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179)
_SEPARATORS = re.compile(r"\s*(?:×|✕|⨯|\*|,|;|-?\bby\b-?|(?<=\s)[xX](?=\s)|\\times)\s*")
_SIZE_TOKEN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]*|\d{1,6})$")
_SCALAR_WORDS = {"scalar", "1", "()", "1x1", "1×1"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NOT_SIZES = {"by", "x", "X", "R", "times", "mathbb", "scalar"}


class ShapeError(ValueError):
    """Raised for text that is not a shape; the message says what was expected."""


def _strip_wrappers(text: str) -> str:
    text = text.strip().replace("\u00a0", " ")
    text = re.sub(r"^(?:R|ℝ|\\mathbb\{R\})\s*\^\s*", "", text)
    for opening, closing in (("{", "}"), ("(", ")"), ("[", "]")):
        if text.startswith(opening) and text.endswith(closing):
            text = text[1:-1].strip()
    return text


def parse_shape(text: str, known_sizes: set[str]) -> tuple[tuple[str, ...], ...]:
    """Parse a shape into its axes; each axis is a sorted tuple of factors (names or numbers).

    A rank-one answer (``q``) stands for a column; ``scalar`` and ``1`` give no axes.
    Raises ``ShapeError`` with a message for the student.
    """
    if not isinstance(text, str):
        raise ShapeError("Write the shape as text, for example n×m.")
    if len(text) > MAX_ANSWER_LENGTH:
        raise ShapeError(f"A shape is short; this answer has {len(text)} characters.")
    raw = _strip_wrappers(text)
    if raw.replace(" ", "").lower() in _SCALAR_WORDS or raw == "":
        if raw == "":
            raise ShapeError("The answer is empty: write a shape such as n×m.")
        return ()
    pieces = [piece for piece in _SEPARATORS.split(raw) if piece != ""]
    if len(pieces) == 1 and pieces[0] not in known_sizes and re.fullmatch(r"\w+x\w+", pieces[0]):
        pieces = pieces[0].split("x")  # "nxm" written without spaces
    if len(pieces) > MAX_AXES:
        raise ShapeError(f"At most {MAX_AXES} axes, please; this answer has {len(pieces)}.")
    axes = []
    for piece in pieces:
        factors = [f.strip() for f in re.split(r"\s*[·⋅]\s*", piece.strip("() "))]
        for factor in factors:
            if not _SIZE_TOKEN.match(factor):
                raise ShapeError(
                    f"Cannot read {factor!r} as a size. Write sizes as names or numbers "
                    "separated by ×, x, 'by' or commas, e.g. n×m."
                )
            if not factor.isdigit() and factor not in known_sizes:
                names = ", ".join(sorted(known_sizes)) or "none"
                raise ShapeError(f"Unknown size {factor!r}; the sizes here are: {names}.")
        axes.append(tuple(sorted(f for f in factors if f != "1")) or ("1",))
    return tuple(axes)


def _axis_value(axis: tuple[str, ...], values: dict[str, int]) -> int:
    return math.prod(int(f) if f.isdigit() else values[f] for f in axis)


def _numeric(axes: tuple[tuple[str, ...], ...], values: dict[str, int]) -> tuple[int, ...]:
    shape = tuple(_axis_value(axis, values) for axis in axes)
    # A vector is a column: "q" and "q×1" are the same shape; squeeze all unit axes.
    return tuple(size for size in shape if size != 1)


def structural_key(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    """Return how a wrong shape differs from the right one: ``transposed``, ``wrong-rank``,
    ``axes-order`` or ``axis-size`` (the diagnosis keys of this kind)."""
    if len(got) == len(want) and got == tuple(reversed(want)):
        return "transposed"
    if len(got) != len(want):
        return "wrong-rank"
    if sorted(got) == sorted(want):
        return "axes-order"
    return "axis-size"


def _render(axes: tuple[tuple[str, ...], ...]) -> str:
    return "×".join("·".join(axis) for axis in axes) if axes else "scalar"


class ShapePart(PartSpec):
    """A part whose answer is a shape, e.g. the shape of ∇_X f."""

    kind: Literal["shape"]
    answer: str = Field(description="The correct shape, e.g. 'n×m'")
    sizes: list[str] = Field(
        default_factory=list,
        description="Size names a student may use besides the exercise's dims (e.g. n, m)",
    )
    mistakes: list[Mistake] = Field(default_factory=list)

    @field_validator("sizes")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                raise ValueError(f"size name {name!r} is not a plain name")
        return value


@register
class ShapeKind(KindBase):
    """Grades shape answers by comparing sizes; names transposed and wrong-rank answers."""

    name: ClassVar[str] = "shape"
    part_model: ClassVar[type[PartSpec]] = ShapePart
    private_fields: ClassVar[frozenset[str]] = frozenset({"answer", "mistakes"})
    previews: ClassVar[bool] = True

    def mistake_answers(self, part: ShapePart) -> list[str]:
        """Return the answers of the part's listed mistakes, in order."""
        return [mistake.answer for mistake in part.mistakes]

    def _sizes(self, part: ShapePart, exercise: Any) -> set[str]:
        return set(part.sizes) | set(exercise.dims)

    def check(self, part: ShapePart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Return problems: a reference or mistake that does not parse, or a right mistake."""
        sizes = self._sizes(part, exercise)
        problems = hint_problems(part.mistakes, [part.answer])
        try:
            reference = parse_shape(part.answer, sizes)
        except ShapeError as exc:
            return [*problems, (("answer",), f"the reference shape does not parse: {exc}")]
        values = self._values(sizes)
        for index, mistake in enumerate(part.mistakes):
            try:
                wrong = parse_shape(mistake.answer, sizes)
            except ShapeError as exc:
                problems.append((("mistakes", index, "answer"), f"does not parse: {exc}"))
                continue
            if _numeric(wrong, values) == _numeric(reference, values):
                problems.append((("mistakes", index, "answer"), "this 'mistake' is correct"))
        return problems

    @staticmethod
    def _values(sizes: set[str]) -> dict[str, int]:
        if len(sizes) > len(_PRIMES):
            raise ValueError(f"at most {len(_PRIMES)} size names")
        return {name: _PRIMES[i] for i, name in enumerate(sorted(sizes))}

    def grade(self, part: ShapePart, answer: Any, ctx: GradingContext) -> PartResult:
        """Grade a shape answer: full marks when the sizes agree, feedback otherwise."""
        sizes = self._sizes(part, ctx.exercise)
        try:
            given = parse_shape(answer, sizes)
        except ShapeError as exc:
            return PartResult.invalid(part, str(exc))
        expected_axes = parse_shape(part.answer, sizes)
        values = self._values(sizes)
        got, want = _numeric(given, values), _numeric(expected_axes, values)
        if got == want:
            return PartResult(
                part.id, part.points, part.points, True, "Correct.", GRADED, "correct"
            )
        for index, mistake in enumerate(part.mistakes):
            if _numeric(parse_shape(mistake.answer, sizes), values) == got:
                return self._wrong(part, mistake.feedback, f"mistake:{index}")
        key = structural_key(got, want)
        return self._wrong(part, self._feedback(key, given, got, want), key)

    @staticmethod
    def _feedback(
        key: str, given: tuple[tuple[str, ...], ...], got: tuple[int, ...], want: tuple[int, ...]
    ) -> str:
        if key == "transposed":
            return (
                f"{_render(given)} is transposed: the expected shape has the same sizes in the "
                "other order."
            )
        if key == "wrong-rank":
            if math.prod(got) == math.prod(want):
                return (
                    f"{_render(given)} has the right number of entries but {len(got)} axes "
                    f"where {len(want)} are expected: keep the layout of the variable."
                )
            return f"{_render(given)} has {len(got)} axes (size > 1); expected {len(want)}."
        if key == "axes-order":
            return (
                f"{_render(given)} has the expected sizes in another order: a Jacobian lists "
                "the output's axes first, then the input's."
            )
        differ = [str(k + 1) for k, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
        axes = "axis " + differ[0] if len(differ) == 1 else "axes " + ", ".join(differ)
        return (
            f"{_render(given)} has the expected number of axes, but {axes} (counting from 1) "
            "does not have the expected size."
        )

    def hint_for_diagnosis(self, part: ShapePart, diagnosis: str) -> str | None:
        """Return the hint of a shape diagnosis; a listed mistake is named by how its shape
        differs from the right one (transposed, wrong rank, ...), never by the shape, unless
        its author wrote a ``hint``."""
        authored = authored_hint(part.mistakes, diagnosis)
        if authored is not None:
            return authored
        key, _, rest = diagnosis.partition(":")
        if key == "mistake" and rest.isdigit() and int(rest) < len(part.mistakes):
            sizes = set(part.sizes) | set(
                _NAME.findall(part.answer + " " + part.mistakes[int(rest)].answer)
            )
            sizes -= _NOT_SIZES
            try:
                values = self._values(sizes)
                got = _numeric(parse_shape(part.mistakes[int(rest)].answer, sizes), values)
                want = _numeric(parse_shape(part.answer, sizes), values)
            except (ShapeError, ValueError, KeyError):
                return None
            diagnosis = structural_key(got, want)
        return SHAPE_HINTS.get(diagnosis)

    @staticmethod
    def _wrong(part: ShapePart, feedback: str, diagnosis: str) -> PartResult:
        return PartResult(part.id, 0.0, part.points, False, feedback, GRADED, diagnosis)

    def preview(self, part: ShapePart, answer: Any, exercise: Any) -> dict[str, Any]:
        """Return the axes as read (``{"valid", "shape": ["n", "m"], "source": "n×m"}``) or
        why the answer cannot be read (for the preview routes)."""
        try:
            axes = parse_shape(answer, self._sizes(part, exercise))
        except ShapeError as exc:
            return {"valid": False, "error": {"message": str(exc), "column": None}}
        shape = ["·".join(axis) for axis in axes]
        return {"valid": True, "shape": shape, "source": "×".join(shape) or "scalar"}

    def self_test_cases(self, part: ShapePart, exercise: Any) -> list[SelfTestCase]:
        """Return the reference (correct) and each mistake (wrong, with its feedback)."""
        cases = [SelfTestCase(part.answer, True, label="reference")]
        cases += [
            SelfTestCase(m.answer, False, m.feedback, label=f"mistake {i}")
            for i, m in enumerate(part.mistakes)
        ]
        return cases
