"""The ``code`` kind: the student's Python function runs in the sandbox on every trial.

The part names the entry point (``entry: backward``), the exercise variables passed to it in
order (``parameters``), and the outputs to compare, each with a reference expression evaluated
by the engine (``outputs: {W1: grad(J, W1), ...}``). Inputs follow DESIGN section 1: a variable
declared as a vector ``[d]`` is passed as a 1-D array of shape (d,), a scalar as a Python float,
a matrix as a 2-D array. The entry point returns a dict of arrays; a vector output may come back
as (d,) or (d, 1).

One sandbox run per submission, one call per trial. The child never sees a reference; every
returned array is checked in the parent (type, dtype, finiteness by the sandbox; shape and values
here). Points are split evenly over the outputs; an output counts only when it is correct on
every trial. Failures of the student's code (an exception, the time, memory or output limit)
score zero with the reason; an unavailable sandbox is not the student's fault: the part ends with
status ``error`` so that the submission can be regraded.
"""

from __future__ import annotations

import ast
import keyword
import logging
import threading
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field, field_validator

from grader.kinds.base import (
    ERROR,
    GRADED,
    GradingContext,
    KindBase,
    PartResult,
    PartSpec,
    generic_hint,
)
from grader.kinds.code_verdicts import (
    CORRECT,
    RUN_FAILURE_KEYS,
    SANDBOX_UNAVAILABLE,
    UNCONFINED_NOTICE,
    WRONG_VALUES,
    Variant,
    Verdict,
    compare,
    problem_verdict,
    run_failure,
    sandbox_failed,
)
from grader.kinds.instances import Trial, draw_trials, namespace_for, reference_value, trials_of
from grader.kinds.registry import register
from grader.mathexpr import parse
from grader.sandbox import Limits, RunResult, SandboxSetupError, Status, run_code
from grader.sandbox.bwrap import package_dirs

log = logging.getLogger(__name__)
MAX_SOURCE_CHARS = 50_000
FORBIDDEN_PACKAGES = frozenset({"grader"})
STDOUT_SHOWN = 600


def _identifier(value: str, what: str) -> str:
    if not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(f"{what} {value!r} is not a Python identifier")
    return value


class CodeMistake(BaseModel):
    """A known wrong version of some outputs (reference expressions on the same trial)."""

    model_config = ConfigDict(extra="forbid")

    outputs: dict[str, str] = Field(min_length=1, description="Output -> the wrong expression")
    feedback: str = Field(min_length=1, max_length=2000)


class CodePart(PartSpec):
    """A part answered with Python source defining ``entry``."""

    kind: Literal["code"]
    entry: str = Field("backward", description="The function the student's code must define")
    parameters: list[str] = Field(
        min_length=1,
        description="Exercise variables passed as arguments, in order (vectors as 1-D arrays)",
    )
    outputs: dict[str, str] = Field(
        min_length=1,
        description="Key of the returned dict -> reference expression, e.g. W1: grad(J, W1)",
    )
    terms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per output, additive terms a wrong answer may miss (e.g. W1: [lam*W1])",
    )
    mistakes: list[CodeMistake] = Field(
        default_factory=list,
        description="Known wrong versions of outputs, named when an output matches one",
    )
    starter: str = Field("", max_length=MAX_SOURCE_CHARS, description="Code shown to students")
    time_limit: float = Field(5.0, gt=0, le=60, description="Seconds for all trials together")
    memory_limit: int = Field(256, ge=32, le=4096, description="MiB on top of Python + numpy")
    output_limit: int = Field(64, ge=1, le=1024, description="KiB of printed output")
    packages: list[str] = Field(["numpy"], min_length=1, description="Importable packages")
    rtol: float | None = Field(None, gt=0, lt=1, description="Default: the exercise's grading")
    atol: float | None = Field(None, ge=0, lt=1, description="Default: the exercise's grading")

    @field_validator("entry")
    @classmethod
    def _entry(cls, value: str) -> str:
        return _identifier(value, "entry")

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: list[str]) -> list[str]:
        for name in value:
            _identifier(name, "parameter")
        if len(set(value)) != len(value):
            raise ValueError("parameters must not repeat a name")
        return value

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            _identifier(name, "output name")
        return value

    @field_validator("packages")
    @classmethod
    def _packages(cls, value: list[str]) -> list[str]:
        for name in value:
            _identifier(name, "package")
            if name in FORBIDDEN_PACKAGES:
                raise ValueError(f"the package {name!r} (this service) may never be allowed")
        return value

    def limits(self) -> Limits:
        """Return the sandbox limits of one submission's run."""
        return Limits(
            wall_seconds=self.time_limit,
            cpu_seconds=self.time_limit,
            memory_bytes=self.memory_limit << 20,
            output_bytes=self.output_limit << 10,
        )


def syntax_problem(source: str) -> str:
    """Return a message for source that is not valid Python (with the line), or ""."""
    try:
        ast.parse(source, filename="submission.py")
    except SyntaxError as exc:
        where = f" on line {exc.lineno}" if exc.lineno else ""
        return f"Your code is not valid Python{where}: {exc.msg}. Nothing was run."
    except (ValueError, RecursionError, MemoryError):
        return "Your code cannot be read as Python (too deeply nested or malformed)."
    return ""


def signature_problem(source: str, entry: str, parameters: list[str]) -> tuple[str, dict[str, str]]:
    """Check the parameters of ``def entry`` (at the top level of valid ``source``) statically.

    Arguments are passed by position: return ("", expected name -> the student's name) when
    the function takes ``len(parameters)`` positional arguments and none of the expected names
    sits at another position (``lambd`` for ``lam`` is fine, ``(W1, x, ...)`` is not); else
    (a message saying what to change, {}). Without a top-level ``def entry`` nothing is checked
    here (the run says what is missing).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "", {}
    defs = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry
    ]
    if not defs:
        return "", {}
    args = defs[-1].args
    positional = [a.arg for a in args.posonlyargs + args.args]
    if not positional and args.vararg is None and args.kwarg is not None:
        return "", {}  # def entry(**kwargs): called by the exercise's names
    wanted = f"{entry}({', '.join(parameters)})"
    # the parameters' names only: unparsing the defaults could recurse without bound
    shown = positional + ([f"*{args.vararg.arg}"] if args.vararg else [])
    shown += [a.arg for a in args.kwonlyargs] + ([f"**{args.kwarg.arg}"] if args.kwarg else [])
    yours = ", ".join(shown)
    if len(yours) > 120:
        yours = yours[:117] + "..."
    required = len(positional) - len(args.defaults)
    if args.posonlyargs:
        return f"{entry} must not use / in its parameters: write {wanted}.", {}
    if any(default is None for default in args.kw_defaults):
        return (
            f"{entry}({yours}) has keyword-only parameters without defaults; it is called as "
            f"{wanted}.",
            {},
        )
    if (len(positional) < len(parameters) and args.vararg is None) or required > len(parameters):
        return (
            f"{entry}({yours}) takes {len(positional)} parameters, but it is called with "
            f"{len(parameters)}, in this order: {wanted}.",
            {},
        )
    if args.vararg is not None and len(positional) < len(parameters):
        return f"{entry} is called as {wanted}: name its parameters instead of using *.", {}
    for index, name in enumerate(positional[: len(parameters)]):
        if name != parameters[index] and name in parameters:
            return (
                f"{entry}({yours}) takes {name} at position {index + 1}, but it is called as "
                f"{wanted}: put the parameters in this order.",
                {},
            )
    return "", dict(zip(parameters, positional, strict=False))


@register
class CodeKind(KindBase):
    """Runs student code in the sandbox on the trials and compares each output."""

    name: ClassVar[str] = "code"
    part_model: ClassVar[type[PartSpec]] = CodePart
    private_fields: ClassVar[frozenset[str]] = frozenset(
        {"outputs", "terms", "mistakes", "rtol", "atol"}
    )
    deferred: ClassVar[bool] = True

    def __init__(self) -> None:
        self._trees: LRUCache[tuple[int, tuple[str, ...]], tuple[Any, dict[str, Any]]] = LRUCache(
            maxsize=256
        )
        self._lock = threading.Lock()

    def hint(self, part: CodePart, result: Mapping[str, Any]) -> str:
        """Return the hint of a code result: a run that failed keeps its message (it is about
        the student's own code: a traceback, a limit); a run that finished names each wrong
        output and what is wrong with it, never the expected shape or values."""
        diagnosis = str(result.get("diagnosis") or "")
        if result.get("status") != GRADED or result.get("correct"):
            return generic_hint(result)
        if diagnosis in RUN_FAILURE_KEYS:
            return str(result.get("feedback") or "")
        details = result.get("details") or {}
        outputs = details.get("outputs") if isinstance(details, Mapping) else None
        if not isinstance(outputs, Mapping):
            return generic_hint(result)
        right = [
            n for n, o in outputs.items() if isinstance(o, Mapping) and o.get("verdict") == CORRECT
        ]
        lines = [f"{len(right)} of {len(outputs)} outputs correct."]
        for name, output in outputs.items():
            verdict = output.get("verdict") if isinstance(output, Mapping) else None
            if verdict != CORRECT:
                lines.append(f"{name}: {str(verdict or 'not right').replace('-', ' ')}.")
        return "\n".join(lines)

    def mistake_answers(self, part: CodePart) -> list[str]:
        """Return the listed mistakes in order, each named by its wrong expressions."""
        return [
            ", ".join(f"{name} = {text}" for name, text in mistake.outputs.items())
            for mistake in part.mistakes
        ]

    def public(self, part: CodePart, exercise: Any = None) -> dict[str, Any]:
        """Return the part without its references; the output names stay (students need them)."""
        data = super().public(part, exercise)
        data["outputs"] = list(part.outputs)
        return data

    def check(self, part: CodePart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Return problems: unknown parameters, references that do not evaluate, bad starter
        code, unknown packages, terms for outputs that do not exist."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, name in enumerate(part.parameters):
            if name not in exercise.variables:
                problems.append((("parameters", index), f"{name!r} is not an exercise variable"))
        for name in part.terms:
            if name not in part.outputs:
                problems.append((("terms", name), f"{name!r} is not one of the outputs"))
        for index, package in enumerate(part.packages):
            try:
                package_dirs(package)
            except SandboxSetupError as exc:
                problems.append((("packages", index), f"{exc} on this server"))
        starter_problem = syntax_problem(part.starter) if part.starter else ""
        if starter_problem:
            problems.append((("starter",), starter_problem))
        if problems:
            return problems
        try:
            trial = draw_trials(exercise, seed=0, count=1)[0]
            namespace = namespace_for(exercise)
        except Exception as exc:  # the exercise's own model is reported by its own checks
            return [((), f"the exercise's model cannot be evaluated: {exc}")]
        for name, expression in part.outputs.items():
            try:
                reference_value(trial, expression, namespace)
            except Exception as exc:
                problems.append((("outputs", name), f"the reference does not evaluate: {exc}"))
        for name, expressions in part.terms.items():
            for index, expression in enumerate(expressions):
                try:
                    reference_value(trial, expression, namespace)
                except Exception as exc:
                    problems.append((("terms", name, index), f"does not evaluate: {exc}"))
        for index, mistake in enumerate(part.mistakes):
            for name, expression in mistake.outputs.items():
                where = ("mistakes", index, "outputs", name)
                if name not in part.outputs:
                    problems.append((where, f"{name!r} is not one of the outputs"))
                    continue
                try:
                    wrong = reference_value(trial, expression, namespace)
                    right = reference_value(trial, part.outputs[name], namespace)
                except Exception as exc:
                    problems.append((where, f"does not evaluate: {exc}"))
                    continue
                if wrong.shape == right.shape and np.allclose(wrong, right):
                    problems.append((where, "this is the reference's value"))
        return problems

    # -- grading ---------------------------------------------------------------------------

    def precheck(self, part: CodePart, answer: Any) -> PartResult | None:
        """Return an ``invalid`` result for an answer that cannot be run (not text, too long,
        a syntax error), or None. Cheap, no sandbox: usable before a submission is queued."""
        if not isinstance(answer, str):
            return PartResult.invalid(part, "Paste your Python code as text.")
        if len(answer) > MAX_SOURCE_CHARS:
            return PartResult.invalid(
                part, f"Your code is {len(answer)} characters long; at most {MAX_SOURCE_CHARS}."
            )
        problem = syntax_problem(answer)
        if problem:
            return PartResult.invalid(part, problem, "syntax-error")
        problem = signature_problem(answer, part.entry, part.parameters)[0]
        if problem:
            return PartResult.invalid(part, problem, "signature")
        return None

    def grade(self, part: CodePart, answer: Any, ctx: GradingContext) -> PartResult:
        """Run the code on every trial and grade each output; never raises on bad code."""
        refused = self.precheck(part, answer)
        if refused is not None:
            return refused
        trials = trials_of(ctx)
        references = self._references(part, ctx, trials)
        # by position: the student's own names for the parameters (``lambd`` for ``lam``)
        names = signature_problem(answer, part.entry, part.parameters)[1]
        calls = [
            {names.get(key, key): value for key, value in self._arguments(part, ctx, trial).items()}
            for trial in trials
        ]
        expected: list[dict[str, tuple[int, ...] | None]] = [
            {name: None for name in part.outputs} for _ in trials
        ]
        result = run_code(
            answer,
            part.entry,
            calls,
            part.limits(),
            expected=expected,
            packages=tuple(part.packages),
        )
        return self._result(part, ctx, trials, references, result)

    def _parsed(self, exercise: Any, expressions: tuple[str, ...]) -> dict[str, Any]:
        """Return ``expressions`` parsed against the exercise's namespace, cached per exercise
        (the spec is kept with its entry so its id cannot be reused while cached)."""
        key = (id(exercise), expressions)
        with self._lock:
            cached = self._trees.get(key)
        if cached is None or cached[0] is not exercise:
            namespace = namespace_for(exercise)
            cached = (exercise, {text: parse(text, namespace) for text in expressions})
            with self._lock:
                self._trees[key] = cached
        return cached[1]

    def _evaluate(self, exercise: Any, trial: Trial, texts: tuple[str, ...]) -> dict[str, Any]:
        """Return each instructor expression's value on ``trial`` (the engine's float64)."""
        trees = self._parsed(exercise, texts)
        return {text: trial.engine_value(trees[text]) for text in texts}

    def _references(
        self, part: CodePart, ctx: GradingContext, trials: list[Trial]
    ) -> list[dict[str, np.ndarray]]:
        """Return per trial each output's reference value (cached in the grading context)."""
        key = f"code:{part.id}:references"
        if key not in ctx.cache:
            texts = tuple(part.outputs.values())
            ctx.cache[key] = [
                {name: values[expression] for name, expression in part.outputs.items()}
                for values in (self._evaluate(ctx.exercise, trial, texts) for trial in trials)
            ]
        return ctx.cache[key]

    def _terms(self, part: CodePart, ctx: GradingContext, trial: Trial, name: str) -> dict:
        """Return the values of ``name``'s listed terms on ``trial`` (only for a wrong output)."""
        texts = tuple(part.terms.get(name, ()))
        return self._evaluate(ctx.exercise, trial, texts) if texts else {}

    def _variants(
        self, part: CodePart, ctx: GradingContext, trial: Trial, name: str
    ) -> list[Variant]:
        """Return the part's known wrong versions of output ``name`` on ``trial``."""
        listed = [(i, m) for i, m in enumerate(part.mistakes) if name in m.outputs]
        if not listed:
            return []
        values = self._evaluate(ctx.exercise, trial, tuple(m.outputs[name] for _, m in listed))
        return [
            Variant(f"mistake:{i}", m.feedback, np.asarray(values[m.outputs[name]]))
            for i, m in listed
        ]

    @staticmethod
    def _arguments(part: CodePart, ctx: GradingContext, trial: Trial) -> dict[str, Any]:
        """Return the keyword arguments of one call: fresh copies, vectors 1-D, scalars float."""
        arguments: dict[str, Any] = {}
        for name in part.parameters:
            value = np.array(trial.values[name], dtype=np.float64)
            declared = ctx.exercise.variables[name].shape
            if value.ndim == 0:
                arguments[name] = float(value)
            elif len(declared) == 1:
                arguments[name] = value.reshape(-1)
            else:
                arguments[name] = value
        return arguments

    def _result(
        self,
        part: CodePart,
        ctx: GradingContext,
        trials: list[Trial],
        references: list[dict[str, np.ndarray]],
        result: RunResult,
    ) -> PartResult:
        details: dict[str, Any] = {
            "run": str(result.status),
            "elapsed_ms": round(result.elapsed * 1000, 1),
            "confined": result.confined,
            "sizes": [trial.describe_sizes() for trial in trials],
        }
        notice = "" if result.confined else f"{UNCONFINED_NOTICE}\n\n"
        if result.status is Status.SANDBOX_UNAVAILABLE or sandbox_failed(result):
            log.error("code part %s not graded, sandbox failure: %s", part.id, result.message)
            details["message"] = result.message
            return PartResult(
                part.id,
                0.0,
                part.points,
                False,
                notice + SANDBOX_UNAVAILABLE,
                ERROR,
                "sandbox-unavailable",
                details,
            )
        diagnosis, failure = run_failure(result, part.time_limit, part.memory_limit)
        if failure:
            feedback = notice + failure + _printed(result)
            return PartResult(
                part.id, 0.0, part.points, False, feedback, GRADED, diagnosis, details
            )
        verdicts = self._verdicts(part, ctx, trials, references, result)
        correct = [name for name, v in verdicts.items() if v.correct]
        score = round(part.points * len(correct) / len(part.outputs), 6)
        details["outputs"] = {
            name: {
                "verdict": v.verdict,
                "message": v.message,
                "diagnosis": v.diagnosis,
                **v.details,
            }
            for name, v in verdicts.items()
        }
        if len(correct) == len(part.outputs):
            summary = (
                f"Correct: all {len(correct)} outputs agree with the reference on "
                f"{len(trials)} random instances."
            )
            return PartResult(
                part.id, part.points, part.points, True, notice + summary, GRADED, CORRECT, details
            )
        lines = [f"{len(correct)} of {len(part.outputs)} outputs correct."]
        lines += [v.message for v in verdicts.values()]
        wrong = [v for v in verdicts.values() if not v.correct]
        # the dashboard counts one key per submission: prefer a specific diagnosis
        first_wrong = next((v for v in wrong if v.diagnosis != "wrong-values"), wrong[0])
        feedback = notice + "\n".join(lines) + _printed(result)
        return PartResult(
            part.id, score, part.points, False, feedback, GRADED, first_wrong.diagnosis, details
        )

    def _verdicts(
        self,
        part: CodePart,
        ctx: GradingContext,
        trials: list[Trial],
        references: list[dict[str, np.ndarray]],
        result: RunResult,
    ) -> dict[str, Verdict]:
        """Return each output's verdict: correct on every trial, else its first failure."""
        rtol = part.rtol if part.rtol is not None else ctx.exercise.grading.rtol
        atol = part.atol if part.atol is not None else ctx.exercise.grading.atol
        verdicts: dict[str, Verdict] = {}
        for name in part.outputs:
            verdict = Verdict(CORRECT, f"{name}: correct.", CORRECT)
            for index, trial in enumerate(trials):
                call = result.calls[index] if index < len(result.calls) else None
                if call is None:
                    verdict = problem_verdict(name, "missing", "", part.entry)
                elif name in call.outputs:
                    got, reference = call.outputs[name], references[index][name]
                    verdict = compare(name, got, reference, trial.sizes, rtol, atol)
                    if verdict.verdict == WRONG_VALUES:
                        terms = self._terms(part, ctx, trial, name)
                        variants = self._variants(part, ctx, trial, name)
                        verdict = compare(
                            name, got, reference, trial.sizes, rtol, atol, terms, variants
                        )
                else:
                    verdict = problem_verdict(
                        name, call.problems.get(name, "missing"), call.returned, part.entry
                    )
                if not verdict.correct:
                    sizes = trial.describe_sizes()
                    verdict = Verdict(
                        verdict.verdict,
                        f"{verdict.message} (trial {index + 1}, sizes {sizes})",
                        verdict.diagnosis,
                        {**verdict.details, "trial": index},
                    )
                    break
            verdicts[name] = verdict
        return verdicts


def _printed(result: RunResult) -> str:
    text = (result.stdout or "").strip()
    if not text:
        return ""
    if len(text) > STDOUT_SHOWN:
        text = text[:STDOUT_SHOWN] + " …"
    return f"\n\nYour code printed:\n{text}"
