"""The ``memory`` kind: how many floats training keeps, or prediction needs at its peak.

The answer is a formula over the sizes (the exercise's dims, e.g. ``d h q``, and the batch
``n``) in the formula language, with ``max``/``min`` for a peak. It is compared with the
engine's accounting of the exercise's model traced on a batch (see
:mod:`grader.kinds.memory_account` for the convention) as polynomials: both are evaluated at
several random integer size points (respecting the part's ``assume`` orderings) and must agree
exactly. Diagnoses: ``mistake:<i>``; ``bytes:<k>`` (counted bytes, not floats);
``no-batch`` (the count does not grow with n); ``missing:<names>``, ``extra:<names>`` or
both (the itemised tensors whose float counts explain the difference, each named with why it
is or is not kept); else ``wrong`` with the size point.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any, ClassVar, Literal

import numpy as np
from cachetools import LRUCache
from pydantic import Field, field_validator

from grader.kinds.accumulation_account import MEASURES as ACCUMULATION_MEASURES
from grader.kinds.accumulation_account import accumulation_accounting
from grader.kinds.accumulation_account import problems as accumulation_problems
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
from grader.kinds.hints import memory_hint
from grader.kinds.memory_account import Accounting, Tensor, accounting, trace_sizes
from grader.kinds.registry import register
from grader.mathexpr import (
    FormulaError,
    Namespace,
    Node,
    UnknownNameError,
    evaluate,
    parse,
    to_latex,
    to_mathml,
    to_source,
)

_ASSUME = re.compile(r"^\s*([A-Za-z]\w*)\s*(>=|>|<=|<)\s*([A-Za-z]\w*)\s*$")
_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
MAX_TERMS = 4
# Per (spec object, part), least recently used out first; an entry keeps its spec alive.
_ACCOUNTS: LRUCache[tuple[int, str], tuple[Any, Accounting]] = LRUCache(maxsize=256)
_ACCOUNTS_LOCK = threading.Lock()


class MemoryPart(PartSpec):
    """A part answered by a count of floats, a formula over the sizes and the batch."""

    kind: Literal["memory"]
    measure: Literal[
        "training",
        "prediction",
        # forward-mode accumulation against reverse mode (grader.kinds.accumulation_account)
        "jacobian",
        "accumulation",
        "forward-passes",
        "reverse-passes",
        "forward-mults",
        "reverse-mults",
    ]
    answer: str = Field(
        min_length=1,
        max_length=2000,
        description="A correct count in the students' notation (self-test)",
    )
    batch: str = Field(
        "n",
        pattern=r"^[A-Za-z]\w{0,31}$",
        description="The batch size's name: vector inputs get n columns",
    )
    assume: list[str] = Field(
        default_factory=list, description="Orderings the size points respect, e.g. 'h > d'"
    )
    size_range: tuple[int, int] = Field((2, 200), description="Sizes drawn in [low, high]")
    samples: int = Field(6, ge=3, le=30, description="How many size points to compare at")
    output: str = Field("o", description="The model quantity prediction computes")
    objective: str = Field("J", description="The scalar training minimises")
    mistakes: list[Mistake] = Field(default_factory=list)
    wrt: str | None = Field(
        None, description="The variable differentiated against (the accumulation measures)"
    )
    of: str | None = Field(None, description="The model quantity whose Jacobian (jacobian)")

    @field_validator("assume")
    @classmethod
    def _orderings(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _ASSUME.match(item):
                raise ValueError(f"{item!r} is not an ordering such as 'h > d'")
        return value


def size_names(part: MemoryPart, exercise: Any) -> list[str]:
    """Return the names a count may use: the exercise's dims and the batch."""
    return [*exercise.dims, part.batch]


def namespace(part: MemoryPart, exercise: Any) -> Namespace:
    """Return the namespace of counts: the sizes as scalars, ``max`` and ``min``. Where the
    sizes are single letters, a word made of them is their product (``hn`` is h·n, ``2hn``
    is 2·h·n), as the prompts write counts; a word that is itself a size stays that size."""
    names = size_names(part, exercise)
    return Namespace(
        variables=dict.fromkeys(names, []),
        functions={"max": (1, 16), "min": (1, 16)},
        letter_products=all(len(name) == 1 for name in names),
    )


def _holds(part: MemoryPart, sizes: dict[str, int]) -> bool:
    for item in part.assume:
        left, op, right = _ASSUME.match(item).groups()  # type: ignore[union-attr]
        if not _OPS[op](sizes[left], sizes[right]):
            return False
    return True


def account_of(part: MemoryPart, exercise: Any) -> Accounting:
    """Return the engine's accounting for ``part`` (cached per exercise spec object)."""
    key = (id(exercise), part.id)
    with _ACCOUNTS_LOCK:
        cached = _ACCOUNTS.get(key)
    if cached is not None and cached[0] is exercise:
        return cached[1]
    names = size_names(part, exercise)
    values = trace_sizes(names, lambda sizes: _holds(part, sizes))
    if part.measure in ACCUMULATION_MEASURES:
        result = accumulation_accounting(exercise, part, values)
    else:
        result = accounting(exercise, part.measure, part.batch, part.output, part.objective, values)
    with _ACCOUNTS_LOCK:
        _ACCOUNTS[key] = (exercise, result)
    return result


def draw_points(part: MemoryPart, exercise: Any, rng: np.random.Generator) -> list[dict[str, int]]:
    """Return ``samples`` size points: distinct sizes in ``size_range`` meeting ``assume``."""
    names = size_names(part, exercise)
    low, high = part.size_range
    points: list[dict[str, int]] = []
    for _ in range(2000):
        point = {n: int(rng.integers(low, high + 1)) for n in names}
        if len(set(point.values())) == len(names) and _holds(part, point):
            points.append(point)
            if len(points) == part.samples:
                return points
    raise ValueError("the size range cannot meet the part's assumptions")


_FUNCTIONS = {
    "max": lambda *a: np.max([float(x) for x in a]),
    "min": lambda *a: np.min([float(x) for x in a]),
}


def count_at(tree: Node, point: dict[str, int]) -> float:
    """Evaluate a count at a size point; raises FormulaError (also for a non-scalar)."""
    value = evaluate(tree, {k: float(v) for k, v in point.items()}, _FUNCTIONS)
    if value.shape not in ((), (1, 1)):
        raise FormulaError("a count is a number, not an array", 1)
    return float(value.reshape(()))


def _equal(a: list[float], b: list[float]) -> bool:
    return all(abs(x - y) <= 1e-9 * max(1.0, abs(y)) for x, y in zip(a, b, strict=True))


def explain_difference(
    diff: list[int], points: list[dict[str, int]], account: Accounting
) -> tuple[list[Tensor], list[Tensor], list[list[Tensor]]] | None:
    """Return (left out, added, alternatives) whose float counts make up ``diff`` at every
    point, using the fewest tensors; None when no up-to-four tensors explain it."""
    candidates = [(-1, t) for t in account.counted] + [(1, t) for t in account.uncounted]
    table = np.array([[sign * t.floats(p) for p in points] for sign, t in candidates])
    target = np.array(diff)
    for size in range(1, MAX_TERMS + 1):
        combos = np.array(
            list(itertools.combinations(range(len(candidates)), size)), dtype=int
        ).reshape(-1, size)
        if not len(combos):  # fewer candidates than tensors to combine
            return None
        hits = combos[np.all(table[combos].sum(axis=1) == target, axis=1)]
        found = [
            combo for combo in hits.tolist() if len({candidates[i][1].name for i in combo}) == size
        ]
        if found:
            first = found[0]
            missing = [candidates[i][1] for i in first if candidates[i][0] < 0]
            added = [candidates[i][1] for i in first if candidates[i][0] > 0]
            others = [[candidates[i][1] for i in combo] for combo in found[1:4]]
            return missing, added, others
    return None


@register
class MemoryKind(KindBase):
    """Grades float counts against the engine's memory accounting."""

    name: ClassVar[str] = "memory"
    part_model: ClassVar[type[PartSpec]] = MemoryPart
    private_fields: ClassVar[frozenset[str]] = frozenset({"answer", "mistakes"})
    previews: ClassVar[bool] = True

    def mistake_answers(self, part: MemoryPart) -> list[str]:
        """Return the answers of the part's listed mistakes, in order."""
        return [mistake.answer for mistake in part.mistakes]

    def check(self, part: MemoryPart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Return problems: no model, unknown size names, an answer that is not the engine's
        count, a listed mistake that is correct, a hint that states the answer."""
        return hint_problems(part.mistakes, [part.answer]) + self._check(part, exercise)

    def _check(self, part: MemoryPart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        if part.batch in exercise.dims:
            return [(("batch",), f"the batch name {part.batch!r} is already a size")]
        if part.objective not in exercise.model or part.output not in exercise.model:
            return [(("measure",), f"the model needs `{part.objective}` and `{part.output}`")]
        accumulation = accumulation_problems(part, exercise)
        if accumulation:
            return accumulation
        names = size_names(part, exercise)
        for index, item in enumerate(part.assume):
            for name in _ASSUME.match(item).groups()[::2]:  # type: ignore[union-attr]
                if name not in names:
                    return [(("assume", index), f"{name!r} is not a size ({', '.join(names)})")]
        ns = namespace(part, exercise)
        problems: list[tuple[tuple[str | int, ...], str]] = []
        try:
            account = account_of(part, exercise)
            points = draw_points(part, exercise, np.random.default_rng(0))
        except ValueError as exc:
            return [(("assume",), str(exc))]
        expected = [float(account.at(p)) for p in points]
        for location, text in [(("answer",), part.answer)] + [
            (("mistakes", i, "answer"), m.answer) for i, m in enumerate(part.mistakes)
        ]:
            try:
                got = [count_at(parse(text, ns), p) for p in points]
            except FormulaError as exc:
                problems.append((location, f"does not parse as a count: {exc}"))
                continue
            if location == ("answer",) and not _equal(got, expected):
                problems.append(
                    (
                        location,
                        f"the answer is not the engine's count "
                        f"{account.total} under the stated convention",
                    )
                )
            if location != ("answer",) and _equal(got, expected):
                problems.append((location, "this mistake is in fact correct"))
        return problems

    def grade(self, part: MemoryPart, answer: Any, ctx: GradingContext) -> PartResult:
        """Grade a count; unreadable input is invalid (no attempt used)."""
        if not isinstance(answer, str) or not answer.strip():
            return PartResult.invalid(part, "Write a count such as 2*h*n + d.", "empty")
        exercise = ctx.exercise
        names = size_names(part, exercise)
        try:
            tree = parse(answer, namespace(part, exercise))
        except UnknownNameError as exc:
            hint = ""
            if exc.name and all(c in names for c in exc.name):
                hint = f" Write products with * or a space: {'*'.join(exc.name)}."
            return PartResult.invalid(
                part,
                f"{exc.message} (column {exc.column}). A count "
                f"uses the sizes {', '.join(names)}.{hint}",
                "unknown-name",
            )
        except FormulaError as exc:
            return PartResult.invalid(
                part, f"Not a formula at column {exc.column}: {exc.message}", "syntax"
            )
        account = account_of(part, exercise)
        points = draw_points(part, exercise, ctx.rng("memory", part.id))
        try:
            got = [count_at(tree, p) for p in points]
        except FormulaError as exc:
            return self._wrong(part, f"Cannot evaluate this count: {exc}.", "shape")
        expected = [float(account.at(p)) for p in points]
        if _equal(got, expected):
            return PartResult(
                part.id, part.points, part.points, True, "Correct.", GRADED, "correct"
            )
        ns = namespace(part, exercise)
        for index, mistake in enumerate(part.mistakes):
            if _equal([count_at(parse(mistake.answer, ns), p) for p in points], got):
                return self._wrong(part, mistake.feedback, f"mistake:{index}")
        return self._diagnose(part, tree, got, expected, points, account)

    def _diagnose(
        self,
        part: MemoryPart,
        tree: Node,
        got: list[float],
        expected: list[float],
        points: list[dict[str, int]],
        account: Accounting,
    ) -> PartResult:
        for factor in (4, 8, 2) if account.unit == "floats" else ():
            if _equal(got, [factor * e for e in expected]):
                return self._wrong(
                    part,
                    f"Your count is {factor} times the expected one: count "
                    f"floats (numbers), not bytes.",
                    f"bytes:{factor}",
                )
        moved = [dict(p, **{part.batch: p[part.batch] + 1}) for p in points]
        if _equal([count_at(tree, p) for p in moved], got) and not _equal(
            [float(account.at(p)) for p in moved], expected
        ):
            return self._wrong(
                part,
                f"Your count does not grow with the batch size "
                f"{part.batch}: the inputs and the kept activations have one "
                "column per example.",
                "no-batch",
            )
        if all(float(g).is_integer() for g in got):
            diff = [int(g) - int(e) for g, e in zip(got, expected, strict=True)]
            found = explain_difference(diff, points, account)
            if found is not None:
                return self._explained(part, *found)
        where = ", ".join(f"{k}={v}" for k, v in points[0].items())
        return self._wrong(
            part,
            f"Not the count under the stated convention at {where} "
            f"(your formula gives {got[0]:g} {account.unit}).",
            "wrong",
            {"sizes": where},
        )

    def _explained(
        self,
        part: MemoryPart,
        missing: list[Tensor],
        added: list[Tensor],
        others: list[list[Tensor]],
    ) -> PartResult:
        sentences, keys = [], []
        if missing:
            sentences.append(
                "Your count leaves out: " + "; ".join(t.sentence for t in missing) + "."
            )
            keys.append("missing:" + ",".join(t.name for t in missing))
        if added:
            sentences.append("Your count includes: " + "; ".join(t.sentence for t in added) + ".")
            keys.append("extra:" + ",".join(t.name for t in added))
        if others:
            alternatives = " or ".join(", ".join(t.name for t in combo) for combo in others)
            sentences.append(f"(Tensors of the same sizes would explain it too: {alternatives}.)")
        return self._wrong(part, " ".join(sentences), ";".join(keys))

    @staticmethod
    def _wrong(
        part: MemoryPart, feedback: str, diagnosis: str, details: dict[str, Any] | None = None
    ) -> PartResult:
        return PartResult(
            part.id, 0.0, part.points, False, feedback, GRADED, diagnosis, details or {}
        )

    def hint_for_diagnosis(self, part: MemoryPart, diagnosis: str) -> str | None:
        """Return the hint of a memory diagnosis: a listed mistake's ``hint`` when its author
        wrote one, else ``grader.kinds.hints``'s; None for an unknown key."""
        return authored_hint(part.mistakes, diagnosis) or memory_hint(diagnosis)

    def self_test_cases(self, part: MemoryPart, exercise: Any) -> list[SelfTestCase]:
        """Return the answer (correct) and each mistake (wrong, with its feedback)."""
        return [SelfTestCase(part.answer, True, label="answer")] + [
            SelfTestCase(m.answer, False, m.feedback, label=f"mistake {i}")
            for i, m in enumerate(part.mistakes)
        ]

    def preview(self, part: MemoryPart, answer: Any, exercise: Any) -> dict[str, Any]:
        """Return how the server reads a count: source, LaTeX, MathML, or the error."""
        if not isinstance(answer, str):
            return {"valid": False, "error": {"message": "Write a count.", "column": None}}
        try:
            tree = parse(answer, namespace(part, exercise))
        except FormulaError as exc:
            return {"valid": False, "error": {"message": exc.message, "column": exc.column}}
        return {
            "valid": True,
            "source": to_source(tree),
            "latex": to_latex(tree),
            "mathml": to_mathml(tree),
        }
