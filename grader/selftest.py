"""The exercise self-test (``grader exercises test``): does each exercise grade as its author meant?

For every part, the kind's ``self_test_cases`` (its reference, which must score full marks; each
listed mistake, which must be rejected with its own feedback; kind-specific extras) and the
file's ``examples`` (which must grade as stated: correct or not, a feedback phrase, a score) are
graded with the real grading code. No Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.catalog import SpecIssue, exercise_files, field_name, line_of, load_files
from grader.kinds.base import (
    GRADED,
    INVALID,
    NEEDS_REVIEW,
    GradingContext,
    PartResult,
    SelfTestCase,
)
from grader.kinds.registry import get_kind
from grader.kinds.spec import Example, ExerciseSpec

MAX_SHOWN = 80


@dataclass(frozen=True)
class Check:
    """One graded answer and whether it got the verdict the exercise states."""

    label: str
    ok: bool
    message: str = ""


@dataclass
class PartReport:
    """The checks of one part."""

    part_id: str
    kind: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        """Return the checks that failed."""
        return [check for check in self.checks if not check.ok]


@dataclass
class ExerciseReport:
    """The self-test of one exercise file: a report per part."""

    path: str
    slug: str
    parts: list[PartReport] = field(default_factory=list)

    @property
    def failures(self) -> int:
        """Return the number of failed checks."""
        return sum(len(part.failures) for part in self.parts)

    @property
    def checks(self) -> int:
        """Return the number of checks run."""
        return sum(len(part.checks) for part in self.parts)

    def issues(self, spec: ExerciseSpec, source: str) -> list[SpecIssue]:
        """Return each failed check as a problem of the file, located at its part."""
        index = {part.id: number for number, part in enumerate(spec.parts)}
        found = []
        for part in self.parts:
            location = ("parts", index[part.part_id])
            line = line_of(source, location)
            for check in part.failures:
                found.append(
                    SpecIssue(
                        self.path,
                        line,
                        field_name(location),
                        f"self-test of part {part.part_id!r}: {check.label}: {check.message}",
                    )
                )
        return found

    def lines(self, verbose: bool = True) -> list[tuple[str, bool]]:
        """Return the report as (line, ok) pairs: a line per part, one per failure."""
        out = []
        for part in self.parts:
            bad = part.failures
            status = "FAIL" if bad else "ok  "
            if bad or verbose:
                out.append(
                    (
                        f"{status} {self.path} [{self.slug}] part {part.part_id} "
                        f"({part.kind}): {len(part.checks) - len(bad)}/{len(part.checks)} "
                        "checks pass",
                        not bad,
                    )
                )
            for check in bad:
                out.append((f"       - {check.label}: {check.message}", False))
        return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def judge(
    result: PartResult,
    correct: bool,
    feedback: str | None = None,
    score: float | None = None,
    allow_invalid: bool = False,
) -> str:
    """Return why ``result`` is not the stated verdict, or "" when it is.

    A correct answer must score full marks; a wrong one must be graded (or stored for review)
    and must not score full marks. Only ``allow_invalid`` (an instructor's example of an
    unreadable answer) lets a wrong answer be refused as unreadable.
    """
    problems = []
    if result.status == INVALID and (correct or not allow_invalid):
        problems.append(f"refused as unreadable: {result.feedback!r}")
    elif correct and not (result.correct and result.score >= result.max_score):
        problems.append(
            f"expected full marks, got {result.score:g}/{result.max_score:g} ({result.feedback!r})"
        )
    elif not correct and result.correct:
        problems.append("expected to be rejected, but it was graded correct")
    elif result.status not in (GRADED, NEEDS_REVIEW, INVALID):
        problems.append(f"status {result.status}: {result.feedback!r}")
    if feedback and feedback.lower() not in (result.feedback or "").lower():
        problems.append(f"feedback {result.feedback!r} does not contain {feedback!r}")
    if score is not None and abs(result.score - score) > 1e-6:
        problems.append(f"expected score {score:g}, got {result.score:g}")
    return "; ".join(problems)


def _grade(spec: ExerciseSpec, part: Any, answer: Any, seed: int) -> PartResult:
    try:
        return get_kind(part.kind).grade(part, answer, GradingContext(spec, seed))
    except Exception as exc:  # a kind that raises is a failed check, not a crashed run
        return PartResult(
            part.id,
            0.0,
            part.points,
            False,
            f"the kind raised {type(exc).__name__}: {exc}",
            "error",
            "error",
        )


def _case_check(spec: ExerciseSpec, part: Any, case: SelfTestCase, index: int, seed: int) -> Check:
    label = case.label or f"case {index + 1}"
    label = f"{label} {_short(case.answer)}"
    result = _grade(spec, part, case.answer, seed)
    return Check(label, not (message := judge(result, case.correct, case.feedback)), message)


def _example_check(spec: ExerciseSpec, part: Any, example: Example, index: int, seed: int) -> Check:
    label = f"example {index + 1} {_short(example.answer)}"
    result = _grade(spec, part, example.answer, seed)
    message = judge(result, example.correct, example.feedback, example.score, allow_invalid=True)
    return Check(label, not message, message)


def selftest_spec(spec: ExerciseSpec, path: str = "", seed: int = 0) -> ExerciseReport:
    """Self-test one exercise and return its report (never raises for a bad exercise)."""
    report = ExerciseReport(path or spec.slug, spec.slug)
    for part in spec.parts:
        kind = get_kind(part.kind)
        part_report = PartReport(part.id, part.kind)
        try:
            cases = kind.self_test_cases(part, spec)
        except Exception as exc:
            part_report.checks.append(
                Check("self-test cases", False, f"{type(exc).__name__}: {exc}")
            )
            cases = []
        for index, case in enumerate(cases):
            part_report.checks.append(_case_check(spec, part, case, index, seed))
        for index, example in enumerate(spec.examples):
            if example.part == part.id:
                part_report.checks.append(_example_check(spec, part, example, index, seed))
        _distinct_feedback(cases, part_report)
        report.parts.append(part_report)
    return report


def _distinct_feedback(cases: list[SelfTestCase], report: PartReport) -> None:
    """Each listed mistake must receive its own feedback: two with the same text are a slip."""
    seen: dict[str, str] = {}
    for case in cases:
        if case.correct or not case.feedback or not case.label.startswith("mistake"):
            continue
        if case.feedback in seen:
            report.checks.append(
                Check(case.label, False, f"has the same feedback as {seen[case.feedback]}")
            )
        seen[case.feedback] = case.label


def selftest_paths(paths: Iterable[str | Path], seed: int = 0) -> list[ExerciseReport]:
    """Load (validate) the exercise files under ``paths`` and self-test each.

    Raises ``CatalogError`` when a file does not validate.
    """
    loaded = load_files(exercise_files([str(p) for p in paths]))
    return [selftest_spec(item.spec, item.path, seed) for item in loaded]
