"""Hints: the feedback of an assignment's ``hints`` level, from a result's diagnosis key.

A hint names the mistake and never states an expected value: no reference formula, value,
shape, count or option key. So hints are written here from the diagnosis keys alone (DESIGN
section 6 lists them), never cut out of the full feedback, and a key's text may name only what
comes from the student's own answer (a name they used, a term they wrote, an option they
chose). ``tests/kinds/test_hints.py`` grades every exercise's listed mistakes and checks that
no expected value shows.
"""

from __future__ import annotations

FORMULA_HINTS = {
    "shape": "Your answer does not have the shape this quantity has: check each factor's "
    "shape and every product.",
    "shape:literal-size": "Your answer writes a size as a number: write sizes by name.",
    "transposed": "Your answer is transposed: check the order of the factors and the transposes.",
    "zero": "Your answer is zero on every instance, and this quantity is not.",
    "sign": "The sign of your answer is wrong.",
    "not-finite": "Your answer is not finite (inf or nan) on the random instances.",
    "wrong": "Your answer does not equal this quantity on the random instances.",
    "function-for-derivative": "You used the activation where its derivative belongs, or "
    "the reverse.",
    "derivative-for-function": "You used the activation's derivative where the activation "
    "itself belongs, or the reverse.",
    "power-not-differentiated": "A square in your answer was not differentiated.",
    "ones-for-identity": "A matrix of ones is not an identity matrix.",
    "extra-transpose": "Your answer has a transpose too many.",
    "missing-transpose": "Your answer lacks a transpose.",
    "matrix-for-elementwise": "A matrix product in your answer should be elementwise, or "
    "the reverse.",
    "elementwise-for-matrix": "An elementwise product in your answer should be a matrix "
    "product, or the reverse.",
    "division": "A division in your answer should be a multiplication.",
}

MEMORY_HINTS = {
    "no-batch": "Your count does not grow with the batch size.",
    "shape": "This count cannot be evaluated at the sizes given.",
    "wrong": "Not the count under the stated convention.",
}

SHAPE_HINTS = {
    "transposed": "Your shape has the right sizes in the opposite order.",
    "wrong-rank": "Your shape does not have the number of axes this quantity has.",
    "axes-order": "Your shape lists the right sizes in another order: a Jacobian lists the "
    "output's axes first, then the input's.",
    "axis-size": "Your shape has the right number of axes, but not every axis has the right size.",
}


# Keys with a detail after the colon; {named} is the part of it that comes from the student's
# answer (``argument:h->z`` names h, the argument the student wrote; never z).
FORMULA_PREFIX_HINTS = {
    "factor": "Your answer is off by a constant factor (check the coefficients and the sign).",
    "missing-term": "A term is missing from your answer.",
    "extra-term": "Your answer has a term that does not belong in it.",
    "term": "One term of your answer has the wrong coefficient or sign.",
    "term-differs": "One term of your answer is not right; the others are.",
    "activation": "Your answer is right for {named} only: write it for any activation φ.",
    "specific-activation": "Your answer uses {named} where the exercise's activation φ (or φ′) "
    "belongs.",
    "argument": "A function in your answer is applied to {named}, which is the wrong argument.",
    "name": "{named} in your answer is the wrong quantity (another has the same shape).",
    "extra-function": "The function {named} does not belong in your answer.",
    "extra-factor": "Your answer has a factor too many.",
}


def formula_hint(diagnosis: str) -> str | None:
    """Return the hint for a diagnosis key of the formula kind, or None for an unknown key."""
    if diagnosis in FORMULA_HINTS:
        return FORMULA_HINTS[diagnosis]
    key, _, rest = diagnosis.partition(":")
    template = FORMULA_PREFIX_HINTS.get(key)
    return None if template is None else template.format(named=rest.partition("->")[0])


def memory_hint(diagnosis: str) -> str | None:
    """Return the hint for a diagnosis key of the memory kind, or None for an unknown key."""
    if diagnosis in MEMORY_HINTS:
        return MEMORY_HINTS[diagnosis]
    if diagnosis.startswith("bytes:"):
        return "Your count is a multiple of the right one: count floats (numbers), not bytes."
    keys = {piece.partition(":")[0] for piece in diagnosis.split(";")}
    sentences = []
    if "missing" in keys:
        sentences.append("Your count leaves out tensors the convention counts.")
    if "extra" in keys:
        sentences.append("Your count includes tensors the convention does not count.")
    return " ".join(sentences) or None
