"""Generic diagnoses of a wrong formula answer (DESIGN section 6), tried in order once no
listed mistake matched:

- ``zero``, ``sign``, ``factor:<c>``: the answer is c times the reference, with the same c on
  every trial (``factor:2``, ``factor:1/2``, ``factor:-2``);
- ``transposed``: the answer is the reference's transpose (square shapes; other shapes are
  caught as shape errors, also diagnosed ``transposed``);
- ``missing-term:<t>`` / ``extra-term:<t>`` / ``term:<k>*<t>``: answer − reference is ±t (or
  k·t for k in ±2, ±1/2) for a term t the model names: a quantity of the reference's shape
  (``W1``, ``b1``, ``dJ_dz``), a scalar variable times one (``lam*W1``, ``lam*b1``), or an
  outer product of two vectors (``dJ_dz @ x.T``);
- from the answer's structure against a correct formula (:mod:`grader.kinds.formula_structure`):
  a term missing, extra, with the wrong coefficient or sign, or the one term that differs,
  and single edits that make the answer right (φ for φ′, φ′(h) for φ′(z), a name for another,
  a transpose, a sign, ``@`` for ``⊙``);
- ``activation:<name>``: right on the trials with one activation and wrong on the others
  (a formula that wrote one specific activation, or its derivative, instead of φ, φ′);
- ``wrong``: not equal at the sample point (the sizes used are named).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from grader.kinds.formula_structure import Structure, edit_diagnosis, term_diagnosis
from grader.kinds.formula_values import all_close, as_reference_shape, close, norm

if TYPE_CHECKING:
    from grader.kinds.instances import Trial

ACTIVATION_HINTS = {
    "tanh": "did you substitute φ′ = 1 − tanh²?",
    "sigmoid": "did you substitute φ′ = σ(1 − σ)?",
    "softplus": "did you substitute φ′ = sigmoid, the derivative of softplus?",
    "relu": "did you substitute φ′ = step, the derivative of relu?",
}
TERM_COEFFICIENTS = (-1.0, 1.0, -2.0, 2.0, -0.5, 0.5)


def _slack(a: np.ndarray, r: np.ndarray, rtol: float, atol: float) -> float:
    return atol + max(rtol, 1e-9) * (norm(r) + norm(a))


def format_factor(c: float) -> str:
    """Return a constant as a short fraction when it is one (``2``, ``1/2``, ``-3/2``)."""
    fraction = Fraction(c).limit_denominator(12)
    if abs(float(fraction) - c) <= 1e-9 * max(1.0, abs(c)):
        return str(fraction)
    return f"{c:.4g}"


def constant_factor(
    answers: Sequence[np.ndarray], refs: Sequence[np.ndarray], rtol: float, atol: float
) -> float | None:
    """Return c when answer = c·reference on every trial with one c, else None."""
    factor: float | None = None
    for a, r in zip(answers, refs, strict=True):
        rr = float(np.vdot(r, r))
        if rr == 0.0:
            if norm(a) > atol:
                return None
            continue
        c = float(np.vdot(a, r)) / rr
        if norm(a - c * r) > _slack(a, r, rtol, atol):
            return None
        if factor is None:
            factor = c
        elif abs(c - factor) > 1e-6 * max(1.0, abs(factor)):
            return None
    return factor


def _factor_feedback(c: float) -> tuple[str, str]:
    if abs(c) <= 1e-12:
        return "zero", "Your answer is zero at the sample points; the expected value is not."
    if abs(c + 1) <= 1e-9:
        return "sign", "The sign is flipped: your answer is the negative of the expected value."
    text = format_factor(c)
    magnitude = abs(c)
    if abs(magnitude - round(magnitude)) < 1e-9 or magnitude > 1:
        words = (
            f"off by a factor of {format_factor(magnitude)}: your answer is {text} times "
            "the expected value"
        )
    else:
        words = (
            f"off by a factor of {format_factor(1 / magnitude)}: your answer is {text} "
            "of the expected value"
        )
    if c < 0:
        words += ", with the opposite sign"
    return f"factor:{text}", words[0].upper() + words[1:] + "."


def _terms(
    trial: Trial, extra: dict[str, np.ndarray], shape: tuple[int, ...]
) -> list[tuple[str, np.ndarray]]:
    """Candidate additive terms of ``shape`` on one trial, named in the formula language."""
    named = {**trial.values, **extra}
    scalars = [n for n, v in trial.inputs.items() if np.shape(v) == ()]
    terms: list[tuple[str, np.ndarray]] = []
    for name, value in named.items():
        if value.shape == shape and shape != ():
            terms.append((name, value))
            terms += [(f"{s}*{name}", named[s] * value) for s in scalars]
    if len(shape) == 2 and shape[1] != 1:
        columns = [(n, v) for n, v in named.items() if v.ndim == 2 and v.shape[1] == 1]
        for left, u in columns:
            for right, v in columns:
                if u.shape[0] == shape[0] and v.shape[0] == shape[1]:
                    terms.append((f"{left} @ {right}.T", u @ v.T))
    return terms


def missing_term(
    answers: Sequence[np.ndarray],
    refs: Sequence[np.ndarray],
    trials: Sequence[Trial],
    extras: Sequence[dict[str, np.ndarray]],
    rtol: float,
    atol: float,
) -> tuple[str, float] | None:
    """Return (term, k) when answer − reference = k·term on every trial, else None."""
    per_trial = [
        {name: value for name, value in _terms(t, e, r.shape)}
        for t, e, r in zip(trials, extras, refs, strict=True)
    ]
    for name in per_trial[0]:
        for k in TERM_COEFFICIENTS:
            if all(
                name in terms
                and norm(a - r - k * terms[name]) <= _slack(a, r, rtol, atol)
                and norm(terms[name]) > atol
                for a, r, terms in zip(answers, refs, per_trial, strict=True)
            ):
                return name, k
    return None


def _term_feedback(name: str, k: float) -> tuple[str, str]:
    if k == -1.0:
        return f"missing-term:{name}", f"A term is missing: your answer lacks `{name}`."
    if k == 1.0:
        return f"extra-term:{name}", (
            f"Your answer differs from the expected value by `{name}`: it has an extra term "
            f"`{name}`, or counts it once too often."
        )
    text = format_factor(k)
    return f"term:{text}*{name}", (
        f"Check the coefficient of `{name}`: your answer differs "
        f"from the expected value by {text}·`{name}`."
    )


def activation_only(
    answers: Sequence[np.ndarray],
    refs: Sequence[np.ndarray],
    trials: Sequence[Trial],
    rtol: float,
    atol: float,
) -> str | None:
    """Return the activation the answer is right for when it is right on exactly the trials
    that use it (and the trials use more than one activation), else None."""
    right = [close(a, r, rtol, atol) for a, r in zip(answers, refs, strict=True)]
    phis = [t.functions.get("phi") for t in trials]
    if len(set(phis)) < 2 or None in phis:
        return None
    good = {phi for phi, ok in zip(phis, right, strict=True) if ok}
    if len(good) != 1:
        return None
    (only,) = good
    if all(ok == (phi == only) for phi, ok in zip(phis, right, strict=True)):
        return only
    return None


def _named_mistake(
    answers: Sequence[np.ndarray],
    refs: Sequence[np.ndarray],
    trials: Sequence[Trial],
    extras: Sequence[dict[str, np.ndarray]],
    rtol: float,
    atol: float,
    structure: Structure | None,
) -> tuple[str, str] | None:
    """The diagnoses that name a mistake, in order, for finite answers of the right shape."""
    factor = constant_factor(answers, refs, rtol, atol)
    if factor is not None:
        return _factor_feedback(factor)
    square = all(r.ndim == 2 and r.shape[0] == r.shape[1] and r.shape[0] > 1 for r in refs)
    if square and all_close(answers, [r.T for r in refs], rtol, atol):
        return "transposed", "Your answer is the transpose of the expected value."
    found = term_diagnosis(structure) if structure is not None else None
    if found is not None:
        return found
    term = missing_term(answers, refs, trials, extras, rtol, atol)
    if term is not None:
        return _term_feedback(*term)
    only = activation_only(answers, refs, trials, rtol, atol)
    if only is not None:
        key = f"specific-activation:{only}"
        found = edit_diagnosis(structure, list(refs), key) if structure is not None else None
        if found is not None:
            return f"activation:{only}", f"Correct for {only} only: {found[1]}"
        return (
            f"activation:{only}",
            f"Correct for {only} only — {ACTIVATION_HINTS.get(only, '')} Write the answer for "
            "any activation with φ(z) and φ′(z) (also phi(z), phi'(z) or dphi(z)).",
        )
    return edit_diagnosis(structure, list(refs)) if structure is not None else None


def diagnose(
    answers: Sequence[np.ndarray],
    refs: Sequence[np.ndarray],
    trials: Sequence[Trial],
    extras: Sequence[dict[str, np.ndarray]],
    rtol: float,
    atol: float,
    structure: Structure | None = None,
) -> tuple[str, str, dict[str, str]]:
    """Return (diagnosis, feedback, details) for a wrong answer; with ``structure``, also the
    diagnoses from the answer's terms and edits. An answer whose shape differs from the
    reference's on some trial gets only the last, generic sentence (no value comparison)."""
    answers = [as_reference_shape(a, r) for a, r in zip(answers, refs, strict=True)]
    same_shapes = all(a.shape == r.shape for a, r in zip(answers, refs, strict=True))
    if same_shapes and all(np.all(np.isfinite(a)) for a in answers):
        found = _named_mistake(answers, refs, trials, extras, rtol, atol, structure)
        if found is not None:
            return found[0], found[1], {}
    for index, (a, r) in enumerate(zip(answers, refs, strict=True)):
        if not close(a, r, rtol, atol):
            trial = trials[index]
            where = trial.describe_sizes()
            if trial.functions:
                where += "; " + ", ".join(f"{k} = {v}" for k, v in trial.functions.items())
            if not np.all(np.isfinite(a)):
                return (
                    "not-finite",
                    (
                        f"Your formula gives non-finite values (inf or nan) at "
                        f"the sample point ({where})."
                    ),
                    {"sizes": where},
                )
            return (
                "wrong",
                (f"Not equal to the expected value at the sample point ({where})."),
                {"sizes": where, "trial": str(index)},
            )
    return "wrong", "Not equal to the expected value at the sample points.", {}
