"""The ``formula`` kind: an expression in the formula language, graded numerically.

The student's formula is evaluated on the submission's trials (``instances.trials_of``) and
compared with the part's ``reference`` (an instructor expression that may call
``grad``/``hessian``/``hvp``): correct when it has the reference's shape and
||answer − reference|| <= atol + rtol·||reference|| on every trial (the exercise's
``grading.rtol``/``atol``). Feedback, in the order of DESIGN section 6:

1. the text is not a formula (``syntax``, with the column) or exceeds a limit (``too-large``):
   invalid, no attempt used;
2. a name the part does not allow (``unknown-name``, listing the allowed ones): invalid;
3. a shape error (``shape``: the operator and the shapes in size names, or the answer's shape
   against the expected one; ``transposed`` when the answer is the reference's transpose);
4. a listed mistake (``mistake:<i>``, its own feedback): matched by value on the same trials,
   or by its syntax tree when it has no value (an anticipated shape error);
5. the generic diagnoses of :mod:`grader.kinds.formula_diagnose`; else ``wrong`` with the
   sizes used.

Earlier formula parts' ids are names later parts may use, bound to their reference values.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Literal

import numpy as np
from cachetools import LRUCache
from pydantic import Field

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
from grader.kinds.formula_diagnose import diagnose
from grader.kinds.formula_structure import Structure
from grader.kinds.formula_values import (
    PartPlan,
    all_close,
    as_reference_shape,
    close,
    earlier_values,
    mistake_values,
    node_evaluator,
    reference_values,
    spec_plan,
    student_values,
)
from grader.kinds.hints import formula_hint
from grader.kinds.instances import draw_trials, trials_of
from grader.kinds.registry import register
from grader.mathexpr import (
    Call,
    FormulaError,
    FormulaLimitError,
    FormulaShapeError,
    Namespace,
    Node,
    Number,
    UnknownNameError,
    format_shape,
    parse,
    to_latex,
    to_mathml,
    to_source,
    walk,
)
from grader.mathexpr.shapes import size_names

MAX_ANSWER_CHARS = 2000
# Parsed answers per (text, namespace), least recently used out first. An entry keeps its
# namespace alive, so its id cannot name another one meanwhile.
_PARSED: LRUCache[tuple[str, int], tuple[Namespace, Node]] = LRUCache(maxsize=4096)
_PARSED_LOCK = threading.Lock()


class FormulaPart(PartSpec):
    """A part answered by a formula, e.g. ∂J/∂b1."""

    kind: Literal["formula"]
    reference: str = Field(
        min_length=1,
        max_length=2000,
        description="Instructor expression, e.g. grad(J, b1) or 2*(o - y)",
    )
    answer: str | None = Field(
        None,
        max_length=2000,
        description="A correct answer in the students' notation (required when the reference "
        "uses grad/hessian/hvp or names a student may not use); run by the self-test",
    )
    mistakes: list[Mistake] = Field(default_factory=list)
    allow: list[str] | None = Field(
        None,
        description="Names the student may use (default: the variables, the model "
        "quantities computed before this part, earlier parts' ids)",
    )


def _wrong(
    part: FormulaPart, feedback: str, diagnosis: str, details: dict[str, Any] | None = None
) -> PartResult:
    return PartResult(part.id, 0.0, part.points, False, feedback, GRADED, diagnosis, details or {})


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def _literal_sizes(tree: Node) -> list[int]:
    """The sizes an answer writes as numbers: ``ones(3)``, ``eye(4)``."""
    return [
        int(a.value)
        for n in walk(tree)
        if isinstance(n, Call) and n.name in ("ones", "eye")
        for a in n.args
        if isinstance(a, Number) and a.value > 1
    ]


def _shape_words(shape: tuple[int, ...], names: dict[int, str], tree: Node | None = None) -> str:
    """``a matrix (q×h)``; the sizes of ``tree`` (the answer) are named only where it names
    them (``eye(3)`` is (3×3) even when d = 3)."""
    if shape == ():
        return "a scalar"
    static = tree.shape if tree is not None else None
    if static is not None and len(static) == len(shape):
        text = "(" + "×".join(str(d) for d in static) + ")"
    elif tree is not None:
        text = format_shape(shape, {})
    else:
        text = format_shape(shape, names)
    if len(shape) == 2 and shape[1] == 1:
        return f"a column vector {text}"
    if len(shape) == 2 and shape[0] == 1:
        return f"a row vector {text}"
    return f"a matrix {text}"


def _student_tree(prepared: PartPlan) -> Node | None:
    """The reference read in the students' names, when they could write it (else None)."""
    try:
        return parse(to_source(prepared.reference), prepared.student_ns)
    except FormulaError:
        return None


def parse_answer(text: str, plan: PartPlan) -> Node:
    """Parse a student's answer against the part's namespace (parsed trees are cached)."""
    key = (text, id(plan.student_ns))
    with _PARSED_LOCK:
        cached = _PARSED.get(key)
    if cached is not None:
        return cached[1]
    tree = parse(text, plan.student_ns)
    with _PARSED_LOCK:
        _PARSED[key] = (plan.student_ns, tree)
    return tree


@register
class FormulaKind(KindBase):
    """Grades formulas on random trials against the reference engine, with diagnoses."""

    name: ClassVar[str] = "formula"
    part_model: ClassVar[type[PartSpec]] = FormulaPart
    private_fields: ClassVar[frozenset[str]] = frozenset({"reference", "answer", "mistakes"})
    previews: ClassVar[bool] = True

    def mistake_answers(self, part: FormulaPart) -> list[str]:
        """Return the answers of the part's listed mistakes, in order."""
        return [mistake.answer for mistake in part.mistakes]

    def check(self, part: FormulaPart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Return problems: formulas that do not parse or evaluate, a missing student-notation
        answer where the reference is not one, a listed mistake that is in fact correct."""
        plan = spec_plan(exercise)
        problems = list(plan.errors.get(part.id, []))
        problems += hint_problems(part.mistakes, [part.reference, part.answer])
        if part.id not in plan.parts or plan.errors.get(part.id):
            return problems
        prepared = plan.parts[part.id]
        if prepared.answer is None:
            try:
                parse(part.reference, prepared.student_ns)
            except FormulaError:
                problems.append(
                    (
                        ("answer",),
                        "the reference is not in the students' notation "
                        "(it uses grad/hessian/hvp or a name they may not use): add "
                        "`answer:` with a correct formula they could write",
                    )
                )
        ctx = GradingContext(exercise, seed=0)
        ctx.cache["trials"] = draw_trials(exercise, 0, count=min(exercise.grading.trials, 3))
        refs = reference_values(ctx, plan, part.id)
        rtol, atol = exercise.grading.rtol, exercise.grading.atol
        if prepared.answer is not None:
            try:
                values = student_values(ctx, plan, part.id, prepared.answer)
                if not all_close(values, refs, rtol, atol):
                    problems.append((("answer",), "the answer does not equal the reference"))
            except FormulaError as exc:
                problems.append((("answer",), f"the answer cannot be evaluated: {exc}"))
        seen: list[tuple[int, list[Any]]] = []
        for index in range(len(part.mistakes)):
            mistaken = mistake_values(ctx, plan, part.id, index)
            if not mistaken:
                continue
            if all_close(mistaken, refs, rtol, atol):
                problems.append(
                    (
                        ("mistakes", index, "answer"),
                        "this mistake is in fact correct: it equals the reference",
                    )
                )
            for other, earlier in seen:
                if all_close(mistaken, earlier, rtol, atol):
                    problems.append(
                        (
                            ("mistakes", index, "answer"),
                            f"this mistake has the value of mistake {other}, which is "
                            "listed first, so its feedback is never shown",
                        )
                    )
                    break
            seen.append((index, mistaken))
        return problems

    def grade(self, part: FormulaPart, answer: Any, ctx: GradingContext) -> PartResult:
        """Grade a formula answer; unreadable input is invalid (no attempt used)."""
        plan = spec_plan(ctx.exercise)
        prepared = plan.parts[part.id]
        if not isinstance(answer, str) or not answer.strip():
            return PartResult.invalid(part, "Write a formula, e.g. 2*(o - y).", "empty")
        if len(answer) > MAX_ANSWER_CHARS:
            return PartResult.invalid(
                part, f"A formula has at most {MAX_ANSWER_CHARS} characters.", "too-large"
            )
        try:
            tree = parse_answer(answer, prepared)
        except UnknownNameError as exc:
            return PartResult.invalid(part, self._unknown(exc, prepared), "unknown-name")
        except FormulaLimitError as exc:
            return PartResult.invalid(part, str(exc), "too-large")
        except FormulaError as exc:
            return PartResult.invalid(
                part, f"Not a formula at column {exc.column}: {exc.message}", "syntax"
            )
        matched = [i for i, m in enumerate(prepared.mistakes) if m is not None and m == tree]
        refs = reference_values(ctx, plan, part.id)
        trials = trials_of(ctx)
        try:
            values = student_values(ctx, plan, part.id, tree)
        except FormulaShapeError as exc:
            if matched:
                return self._mistake(part, matched[0])
            return _wrong(
                part,
                f"Shape error at column {exc.column}: {_sentence(exc.message)}",
                "shape",
                {"sizes": trials[0].describe_sizes()},
            )
        except FormulaLimitError as exc:
            return PartResult.invalid(part, str(exc), "too-large")
        except FormulaError as exc:
            return _wrong(part, f"Cannot evaluate this formula: {_sentence(str(exc))}", "shape")
        rtol, atol = ctx.exercise.grading.rtol, ctx.exercise.grading.atol
        if all_close(values, refs, rtol, atol):
            return PartResult(
                part.id, part.points, part.points, True, "Correct.", GRADED, "correct"
            )
        shape_result = self._shape(part, tree, values, refs, trials, rtol, atol)
        for index in range(len(prepared.mistakes)):
            wrong = mistake_values(ctx, plan, part.id, index)
            if (wrong is not None and all_close(values, wrong, rtol, atol)) or (
                wrong is None and index in matched
            ):
                return self._mistake(part, index)
        if shape_result is not None:
            return shape_result
        extras = earlier_values(ctx, plan, part.id)
        structure = Structure(
            tree,
            prepared.answer if prepared.answer is not None else _student_tree(prepared),
            {n: prepared.student_ns.shape_of(n) for n in prepared.allowed},
            node_evaluator(ctx, plan, part.id),
            rtol,
            atol,
        )
        diagnosis, feedback, details = diagnose(values, refs, trials, extras, rtol, atol, structure)
        return _wrong(part, feedback, diagnosis, details)

    @staticmethod
    def _unknown(exc: UnknownNameError, prepared: PartPlan) -> str:
        if exc.name in prepared.instructor_ns.variables and exc.name not in prepared.allowed:
            return (
                f"`{exc.name}` cannot be used in this part (column {exc.column}); write it "
                f"out with these names: {', '.join(prepared.allowed)}."
            )
        return f"{exc.message} (column {exc.column})."

    @staticmethod
    def _mistake(part: FormulaPart, index: int) -> PartResult:
        return _wrong(part, part.mistakes[index].feedback, f"mistake:{index}")

    @staticmethod
    def _shape(
        part: FormulaPart,
        tree: Node,
        values: list[np.ndarray],
        refs: list[np.ndarray],
        trials: list[Any],
        rtol: float,
        atol: float,
    ) -> PartResult | None:
        """A result when the answer's shape is not the reference's on some trial, else None.

        Every trial is looked at: an answer with a size written as a number (``eye(4)``) has
        the right shape only on the trials where that size happens to be drawn."""
        wrong = [
            i
            for i, (v, r) in enumerate(zip(values, refs, strict=True))
            if as_reference_shape(v, r).shape != r.shape
        ]
        if not wrong:
            return None
        index = wrong[0]
        value, ref, trial = values[index], refs[index], trials[index]
        names = size_names(trial.sizes)
        if len(wrong) == len(values) and all(
            v.shape == r.T.shape and close(v.T, r, rtol, atol)
            for v, r in zip(values, refs, strict=True)
        ):
            return _wrong(
                part,
                "Your answer is the transpose of the expected value: "
                f"{_shape_words(value.shape, names, tree)} where "
                f"{_shape_words(ref.shape, names)} is expected.",
                "transposed",
            )
        literal = _literal_sizes(tree)
        if len(wrong) < len(values) or literal:
            numbers = ", ".join(str(n) for n in literal) or "a number"
            return _wrong(
                part,
                f"Your answer writes a size as {numbers}: at sizes "
                f"{trial.describe_sizes()} it is {_shape_words(value.shape, names, tree)} "
                f"where {_shape_words(ref.shape, names)} is expected. Write sizes by name, "
                "as in eye(q) or ones(h).",
                "shape:literal-size",
                {"sizes": trial.describe_sizes()},
            )
        return _wrong(
            part,
            f"Your answer is {_shape_words(value.shape, names, tree)}, but the "
            f"expected value is {_shape_words(ref.shape, names)} "
            f"(sizes {trial.describe_sizes()}).",
            "shape",
            {"sizes": trial.describe_sizes()},
        )

    def hint_for_diagnosis(self, part: FormulaPart, diagnosis: str) -> str | None:
        """Return the hint of a formula diagnosis: a listed mistake's ``hint`` when its author
        wrote one, else ``grader.kinds.hints``'s; None for an unknown key."""
        return authored_hint(part.mistakes, diagnosis) or formula_hint(diagnosis)

    def self_test_cases(self, part: FormulaPart, exercise: Any) -> list[SelfTestCase]:
        """Return a correct answer (``answer``, else the reference) and each mistake."""
        cases = [SelfTestCase(part.answer or part.reference, True, label="reference")]
        cases += [
            SelfTestCase(m.answer, False, m.feedback, label=f"mistake {i}")
            for i, m in enumerate(part.mistakes)
        ]
        return cases

    def preview(self, part: FormulaPart, answer: Any, exercise: Any) -> dict[str, Any]:
        """Return how the server reads ``answer`` in this part's names: the canonical source,
        LaTeX and MathML, or the error with its 1-based column (for the preview route)."""
        if not isinstance(answer, str):
            return {"valid": False, "error": {"message": "Write a formula.", "column": None}}
        prepared = spec_plan(exercise).parts[part.id]
        try:
            tree = parse_answer(answer[: MAX_ANSWER_CHARS + 1], prepared)
        except UnknownNameError as exc:
            return {
                "valid": False,
                "error": {"message": self._unknown(exc, prepared), "column": exc.column},
            }
        except FormulaError as exc:
            return {"valid": False, "error": {"message": exc.message, "column": exc.column}}
        return {
            "valid": True,
            "source": to_source(tree),
            "latex": to_latex(tree),
            "mathml": to_mathml(tree),
        }
