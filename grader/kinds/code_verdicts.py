"""Verdicts of the ``code`` kind: one returned array against its reference, and run failures.

Everything here runs in the parent on arrays the sandbox has already checked (plain float
``ndarray``, finite) or on the sandbox's description of what was wrong. The verdict of an output
on one trial is one of ``correct``, ``wrong-shape``, ``wrong-values``, ``not-finite``,
``missing`` or ``invalid-value`` (not a float array); each carries a sentence for the student
and a stable diagnosis key for the instructor dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from grader.sandbox import RunResult, Status

CORRECT = "correct"
WRONG_SHAPE = "wrong-shape"
WRONG_VALUES = "wrong-values"
NOT_FINITE = "not-finite"
MISSING = "missing"
INVALID_VALUE = "invalid-value"

#: What a run that did not finish tells the student, by sandbox status; "{seconds}" and
#: "{mib}" are filled with the part's limits.
RUN_FAILURES = {
    Status.TIMEOUT: (
        "time-limit",
        "Time limit: your code did not finish within {seconds:g} s for all trials. Look for "
        "an endless loop, or loops in Python over entries where a numpy operation would do.",
    ),
    Status.MEMORY_LIMIT: (
        "memory-limit",
        "Memory limit: your code needed more than {mib} MiB. The gradients here are small "
        "matrices; look for an array built far larger than the inputs.",
    ),
    Status.OUTPUT_LIMIT: (
        "output-limit",
        "Output limit: your code printed too much and was stopped. Remove the prints in "
        "loops (a few lines of output are fine).",
    ),
    Status.CRASHED: (
        "crashed",
        "Your code stopped abruptly (the Python process crashed or was refused an operation "
        "the sandbox does not allow, such as starting a process or a thread).",
    ),
}
#: Diagnoses of a run that did not finish: its message speaks of the student's code only.
RUN_FAILURE_KEYS = frozenset({"exception", *(key for key, _ in RUN_FAILURES.values())})
SANDBOX_UNAVAILABLE = (
    "Your code could not be run: the code sandbox is unavailable on the server right now. "
    "This is not a problem with your answer; the submission is marked as an error so that it "
    "can be graded again once the sandbox is back."
)
UNCONFINED_NOTICE = (
    "WARNING — DEVELOPMENT MODE: this code ran WITHOUT the sandbox (GRADER_SANDBOX_UNCONFINED=1). "
    "Never use this setting on a server that students can reach."
)


#: A relative error below this is a precision problem (float32), not a mistake in the formula.
NEAR_MISS = 1e-3


@dataclass(frozen=True)
class Variant:
    """A known wrong version of an output, computed on the same trial, and what it means."""

    key: str
    feedback: str
    value: np.ndarray


@dataclass(frozen=True)
class Verdict:
    """The verdict on one output on one trial (or on all trials, once aggregated)."""

    verdict: str
    message: str = ""
    diagnosis: str = ""
    details: dict[str, object] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        """True for a correct output."""
        return self.verdict == CORRECT


def _letters(shape: tuple[int, ...], sizes: Mapping[str, int]) -> str:
    """Return a numpy shape in the prompt's letters where a size names an axis: ``(q, 1)``."""
    by_value: dict[int, list[str]] = {}
    for name, value in sizes.items():
        by_value.setdefault(value, []).append(name)
    axes = [by_value[n][0] if len(by_value.get(n, [])) == 1 else str(n) for n in shape]
    return f"({axes[0]},)" if len(axes) == 1 else f"({', '.join(axes)})"


def _shape_message(
    name: str, got: tuple[int, ...], reference: tuple[int, ...], sizes: Mapping[str, int]
) -> str:
    """Return "b2 has shape (1,) but should have shape (q,) or (q, 1) (q = 4 here)."."""
    wanted = " or ".join(_letters(shape, sizes) for shape in accepted_shapes_of(reference))
    used = sorted({n for n in sizes if sizes[n] in reference or sizes[n] in got})
    here = ", ".join(f"{n} = {sizes[n]}" for n in used)
    return (
        f"{name} has shape {_letters(got, sizes) if got else '() (a scalar)'} but should have "
        f"shape {wanted}" + (f" ({here} here)" if here else "")
    )


def accepted_shapes(reference: np.ndarray) -> list[tuple[int, ...]]:
    """Return the shapes accepted for a reference: a column (d, 1) may come back as (d,)."""
    return accepted_shapes_of(tuple(reference.shape))


def accepted_shapes_of(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Return the shapes accepted for a reference of ``shape`` (see ``accepted_shapes``)."""
    if len(shape) == 2 and shape[1] == 1:
        return [(shape[0],), shape]
    if shape == ():
        return [(), (1,), (1, 1)]
    return [shape]


def _index_words(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(str(i) for i in index)}]"


def compare(
    name: str,
    got: np.ndarray,
    reference: np.ndarray,
    sizes: Mapping[str, int],
    rtol: float,
    atol: float,
    terms: Mapping[str, np.ndarray] = MappingProxyType({}),
    variants: Sequence[Variant] = (),
) -> Verdict:
    """Return the verdict on a checked, finite float array ``got`` against ``reference``.

    Shapes first (a column may come back 1-D, and the message names sizes with the prompt's
    letters); a float32 (or smaller) array is refused as such, since float64 is graded; then
    values within ``atol + rtol·|reference|`` entrywise. A wrong value names the entry with the
    largest error (in the student's layout), the relative error, and a diagnosis: one of the
    reference's known ``variants`` computed on the same trial (a wrong activation derivative,
    ...), values within 1e-3 of the reference (precision), a constant factor, a flipped sign,
    or one of ``terms`` (expression -> value, e.g. ``lam*W1``) missing or added twice.
    """
    if tuple(got.shape) not in accepted_shapes(reference):
        message = _shape_message(name, tuple(got.shape), tuple(reference.shape), sizes)
        if len(reference.shape) == 2 and tuple(got.shape) == tuple(reference.shape)[::-1]:
            return Verdict(
                WRONG_SHAPE,
                f"{message}: it looks transposed.",
                "transposed",
                {"expected": list(reference.shape), "got": list(got.shape)},
            )
        return Verdict(
            WRONG_SHAPE,
            f"{message}.",
            "wrong-shape",
            {"expected": list(reference.shape), "got": list(got.shape)},
        )
    if got.dtype.kind == "f" and got.dtype.itemsize < 8:
        return Verdict(
            WRONG_VALUES,
            f"{name} is a {got.dtype} array: answers are graded in float64, numpy's default, "
            f"to a relative tolerance of {rtol:g}, which {got.dtype} does not reach. Compute "
            "in float64.",
            "precision",
            {"dtype": str(got.dtype)},
        )
    value = got.reshape(reference.shape).astype(np.float64, copy=False)
    error = np.abs(value - reference)
    allowed = atol + rtol * np.abs(reference)
    if np.all(error <= allowed):
        return Verdict(CORRECT, f"{name}: correct.", CORRECT)
    flat = int(np.argmax(error / np.maximum(allowed, np.finfo(float).tiny)))
    where = np.unravel_index(flat, reference.shape)
    where_got = np.unravel_index(flat, got.shape) if got.ndim else ()
    scale = max(float(np.max(np.abs(reference))), atol, np.finfo(float).tiny)
    relative = float(np.max(error)) / scale
    where_words = _index_words(name, tuple(int(i) for i in where_got))
    message = (
        f"{name} has wrong values: the largest error is at {where_words}, where your code "
        f"returned {float(value[where]):.6g} and the reference is {float(reference[where]):.6g} "
        f"(relative error {relative:.2g})."
    )
    diagnosis, hint = _diagnose(value, reference, rtol, atol, terms, sizes)
    for variant in variants:
        if variant.value.shape == reference.shape and _close(value, variant.value, rtol, atol):
            diagnosis, hint = variant.key, variant.feedback
            break
    else:
        if relative < NEAR_MISS:
            diagnosis = "precision"
            hint = (
                f"The values are close to the reference but not within the tolerance (relative "
                f"{rtol:g}): compute in float64, numpy's default"
                + (f"; your array is {got.dtype}." if got.dtype != np.float64 else ".")
            )
    if hint:
        message = f"{message} {hint}"
    return Verdict(
        WRONG_VALUES,
        message,
        diagnosis,
        {"index": [int(i) for i in where_got], "relative_error": relative},
    )


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return bool(np.all(np.abs(a - b) <= atol + max(rtol, 1e-9) * np.abs(b)))


def _diagnose(
    value: np.ndarray,
    reference: np.ndarray,
    rtol: float,
    atol: float,
    terms: Mapping[str, np.ndarray],
    sizes: Mapping[str, int],
) -> tuple[str, str]:
    norm = float(np.vdot(reference, reference))
    if norm > 0:
        factor = float(np.vdot(value, reference)) / norm
        if abs(factor) > 1e-12 and _close(value, factor * reference, rtol, atol):
            if abs(factor + 1) < 1e-6:
                return "sign", "Its sign is flipped."
            ratio = 1 / factor
            whole = abs(ratio - round(ratio)) < 1e-6
            if whole and round(ratio) == 1:  # the reference itself, up to precision
                return "wrong-values", ""
            shown = f"{round(ratio)}" if whole else f"{ratio:.4g}"
            named = [name for name, size in sizes.items() if whole and size == round(ratio)]
            if len(named) == 1 and round(ratio) not in (1, 2):
                return (
                    f"factor:{named[0]}",
                    f"Your values are the reference divided by {shown}, which is the size "
                    f"{named[0]} here: look for an average where a sum is asked for.",
                )
            return (
                f"factor:{shown}",
                f"Your values are the reference divided by {shown}: look for a missing "
                "constant factor.",
            )
    for text, term in dict(terms).items():
        if term.shape != reference.shape:
            continue
        if _close(value + term, reference, rtol, atol):
            return f"missing-term:{text}", f"It is missing the term {text}."
        if _close(value - term, reference, rtol, atol):
            return f"extra-term:{text}", f"It has the term {text} once too often."
    return "wrong-values", ""


def problem_verdict(name: str, problem: str, returned: str, entry: str) -> Verdict:
    """Return the verdict for an output the sandbox's checks refused (or never received)."""
    if returned:
        return Verdict(
            MISSING,
            f"{name} is missing: {entry} must return a dict of numpy arrays ({returned}).",
            "not-a-dict",
        )
    if problem == "missing":
        return Verdict(
            MISSING,
            f"{name} is missing: the dict {entry} returned has no key {name!r}.",
            "missing-output",
        )
    if "NaN" in problem or "infinity" in problem:
        return Verdict(
            NOT_FINITE,
            f"{name} contains NaN or infinite values (check for a division by zero or an "
            "overflow).",
            "not-finite",
        )
    return Verdict(
        INVALID_VALUE,
        f"{name} must be a numpy array of floats; it is {problem}.",
        "invalid-value",
    )


# Messages of a ``crashed`` run that the sandbox's own machinery, not the student's process,
# produced (grader/sandbox/runner.py and child/zygote.py): such a run is regraded, not scored.
_SANDBOX_FAULTS = ("sandbox monitor", "the sandbox stopped answering")


def sandbox_failed(result: RunResult) -> bool:
    """True when a crashed run failed in the sandbox itself rather than in the student's code."""
    return result.status is Status.CRASHED and any(f in result.message for f in _SANDBOX_FAULTS)


def run_failure(result: RunResult, seconds: float, mib: int) -> tuple[str, str]:
    """Return (diagnosis, feedback) for a run that did not complete; ("", "") when it did."""
    if result.status is Status.EXCEPTION:
        trace = result.traceback.strip() or "(no traceback)"
        return "exception", f"Your code raised an exception:\n\n{trace}"
    if result.status in RUN_FAILURES:
        diagnosis, text = RUN_FAILURES[result.status]
        text = text.format(seconds=seconds, mib=mib)
        if result.status is Status.CRASHED and result.message:
            text = f"{text} ({result.message})"
        return diagnosis, text
    return "", ""
