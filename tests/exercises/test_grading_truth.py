"""Grading truth: answers to backprop-bias, second-derivatives, memory-footprint and
jacobian-shape, labelled from the chapter's mathematics, graded at several seeds.

Labels are checked independently of the grader: formulas are evaluated by the formula
language alone and compared with central finite differences of J written in plain numpy (for
two activations), counts with the hand-derived float counts, shapes by hand. The grader must
then accept every right answer and refuse every wrong one at every seed, never with an error,
and the share of wrong answers that get only the generic "not equal" sentence stays below 5 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grader.catalog import parse_exercise
from grader.kinds.base import GRADED, GradingContext
from grader.kinds.registry import get_kind
from grader.mathexpr import FormulaError, Namespace, evaluate, parse

ROOT = Path(__file__).resolve().parents[2]
SPECS = {
    slug: parse_exercise((ROOT / "exercises" / f"{slug}.yaml").read_text())
    for slug in ("backprop-bias", "second-derivatives", "memory-footprint", "jacobian-shape")
}
SEEDS = (0, 7, 2026)
GENERIC = ("wrong",)

BB, SD, MEM, JS = "backprop-bias", "second-derivatives", "memory-footprint", "jacobian-shape"

# (exercise, part, answer, correct)
TABLE: list[tuple[str, str, str, bool]] = [
    # -- backprop-bias, forward
    (BB, "z", "W_1 x + b_1", True),
    (BB, "z", "b1 + W1 @ x", True),
    (BB, "z", "np.dot(W1, x) + b1", True),
    (BB, "z", "W1·x + b₁", True),
    (BB, "z", "x.T @ W1.T + b1", False),
    (BB, "z", "W1 x + b2", False),
    (BB, "z", "W1 x - b1", False),
    (BB, "z", "phi(W1 x + b1)", False),
    (BB, "o", "W_2 h + b_2", True),
    (BB, "o", "W2 φ(z) + b2", True),
    (BB, "o", "W2 @ phi(W1 @ x + b1) + b2", True),
    (BB, "o", "b2 + np.matmul(W2, h)", True),
    (BB, "o", "W2 tanh(z) + b2", False),
    (BB, "o", "W2 φ'(z) + b2", False),
    (BB, "o", "W2 h - b2", False),
    (BB, "o", "2 W2 h + b2", False),
    # -- backprop-bias, backward
    (BB, "dJ_do", "2o - 2y", True),
    (BB, "dJ_do", "-2(y - o)", True),
    (BB, "dJ_do", "2 * (W2 h + b2 - y)", True),
    (BB, "dJ_do", "(o - y) * 2", True),
    (BB, "dJ_do", "2(o + y)", False),
    (BB, "dJ_do", "(o - y)^2", False),
    (BB, "dJ_do", "2(o - y) + λ o", False),
    (BB, "dJ_do", "4(o - y)", False),
    (BB, "dJ_db2", "∂J/∂o", True),
    (BB, "dJ_db2", "2 (o − y)", True),
    (BB, "dJ_db2", "dJ_do + 0 b2", True),
    (BB, "dJ_db2", "dJ_do + λb2", False),
    (BB, "dJ_db2", "W2ᵀ dJ_do", False),
    (BB, "dJ_db2", "2 dJ_do", False),
    (BB, "dJ_db2", "o - y", False),
    (BB, "dJ_dW2", "dJ_do hᵀ + λW2", True),
    (BB, "dJ_dW2", "∂J/∂o h^T + λ W_2", True),
    (BB, "dJ_dW2", "np.outer(dJ_do, h) + lam*W2", True),
    (BB, "dJ_dW2", "dJ_do ⊗ h + λW2", True),
    (BB, "dJ_dW2", "prod(dJ_do, h) + lam W2", True),
    (BB, "dJ_dW2", "dJ_do hᵀ + 2λW2", False),
    (BB, "dJ_dW2", "dJ_do hᵀ - λW2", False),
    (BB, "dJ_dW2", "dJ_do zᵀ + λW2", False),
    (BB, "dJ_dW2", "dJ_do xᵀ", False),
    (BB, "dJ_dW2", "λW2", False),
    (BB, "dJ_dW2", "dJ_do φ(z)ᵀ + λW2 + W2", False),
    (BB, "dJ_dh", "W2ᵀ dJ_do", True),
    (BB, "dJ_dh", "W2' dJ_do", True),
    (BB, "dJ_dh", "prod(W2, dJ_do)", True),
    (BB, "dJ_dh", "(dJ_do.T @ W2).T", True),
    (BB, "dJ_dh", "np.dot(W2.T, dJ_do)", True),
    (BB, "dJ_dh", "2 W2ᵀ (o − y)", True),
    (BB, "dJ_dh", "W2ᵀ dJ_do + λ h", False),
    (BB, "dJ_dh", "-W2ᵀ dJ_do", False),
    (BB, "dJ_dh", "W2ᵀ (o - y)", False),
    (BB, "dJ_dh", "W2ᵀ dJ_do ⊙ φ'(z)", False),
    (BB, "dJ_dz", "dJ_dh ⊙ φ'(z)", True),
    (BB, "dJ_dz", "φ'(z) ⊙ W2ᵀ dJ_do", True),
    (BB, "dJ_dz", "phi'(z) * W2.T @ dJ_do", True),
    (BB, "dJ_dz", "dJ_dh .* dphi(z)", True),
    (BB, "dJ_dz", "diag(φ'(z)) dJ_dh", True),
    (BB, "dJ_dz", "dJ_dh \\odot \\phi'(z)", True),
    (BB, "dJ_dz", "dJ_dh ⊙ φ(z)", False),
    (BB, "dJ_dz", "dJ_dh ⊙ φ'(h)", False),
    (BB, "dJ_dz", "dJ_dh ⊙ (1 - tanh(z)^2)", False),
    (BB, "dJ_dz", "dJ_dh ⊙ φ'(z) + λ z", False),
    (BB, "dJ_dz", "-dJ_dh ⊙ φ'(z)", False),
    (BB, "dJ_dz", "dJ_dh φ'(z)", False),  # a matrix product of two columns: a shape error
    (BB, "dJ_db1", "∂J/∂z", True),
    (BB, "dJ_db1", "dJ_dh ⊙ φ'(z)", True),
    (BB, "dJ_db1", "φ'(z) ⊙ (W2ᵀ dJ_do)", True),
    (BB, "dJ_db1", "dJ_dz + λ b1", False),
    (BB, "dJ_db1", "dJ_dz xᵀ", False),
    (BB, "dJ_db1", "2 dJ_dz", False),
    (BB, "dJ_db1", "dJ_dz ⊙ φ'(z)", False),
    (BB, "dJ_dW1", "dJ_dz xᵀ + λW1", True),
    (BB, "dJ_dW1", "dJ_dz xᵀ + λW_1", True),
    (BB, "dJ_dW1", "prod(x, dJ_dz) + lam W1", True),
    (BB, "dJ_dW1", "dJ_dz ⊗ x + λ W1", True),
    (BB, "dJ_dW1", "(dJ_dh ⊙ φ'(z)) xᵀ + λW1", True),
    (BB, "dJ_dW1", "dJ_dz x^\\top + \\lambda W1", True),
    (BB, "dJ_dW1", "outer(dJ_dz, x) + λ W1", True),
    (BB, "dJ_dW1", "dJ_dz xᵀ + 2 lam W1", False),
    (BB, "dJ_dW1", "dJ_dz xᵀ", False),
    (BB, "dJ_dW1", "dJ_dz xᵀ - λW1", False),
    (BB, "dJ_dW1", "dJ_dh xᵀ + λW1", False),
    (BB, "dJ_dW1", "(dJ_dh ⊙ φ(z)) xᵀ + λW1", False),
    (BB, "dJ_dW1", "x dJ_dzᵀ + λW1ᵀ", False),
    (BB, "dJ_dW1", "dJ_dz zᵀ + λW1", False),
    (BB, "dJ_dW1", "(dJ_dh ⊙ φ'(h)) xᵀ + λW1", False),
    (BB, "dJ_dW1", "dJ_dz xᵀ + λW1 + b1 xᵀ", False),
    # -- second-derivatives
    (SD, "d2J_db2", "2I", True),
    (SD, "d2J_db2", "2 I_q", True),
    (SD, "d2J_db2", "2*np.eye(q)", True),
    (SD, "d2J_db2", "I + I", True),
    (SD, "d2J_db2", "2 diag(ones(q))", True),
    (SD, "d2J_db2", "eye(q) * 2", True),
    (SD, "d2J_db2", "2*eye(4)", False),
    (SD, "d2J_db2", "2 eye(q) + λ I", False),
    (SD, "d2J_db2", "4I", False),
    (SD, "d2J_db2", "2 ones(q, q)", False),
    (SD, "d2J_db2", "2 eye(h)", False),
    (SD, "d2J_db2", "2(o - y)", False),
    (SD, "d2J_db2", "-2I", False),
    (SD, "hvp_W2", "2 V h hᵀ + λ V", True),
    (SD, "hvp_W2", "2 (V h) ⊗ h + λV", True),
    (SD, "hvp_W2", "2*np.outer(V @ h, h) + lam*V", True),
    (SD, "hvp_W2", "2 V (h hᵀ) + λ V", True),
    (SD, "hvp_W2", "λV + 2 V h hᵀ", True),
    (SD, "hvp_W2", "2 V h hᵀ", False),
    (SD, "hvp_W2", "V h hᵀ + λV", False),
    (SD, "hvp_W2", "2 V h hᵀ + λ W2", False),
    (SD, "hvp_W2", "2 V z zᵀ + λV", False),
    (SD, "hvp_W2", "2 V h hᵀ - λV", False),
    (SD, "hvp_W2", "2 (o - y) hᵀ + λ W2", False),
    (SD, "hvp_W2", "2 V h hᵀ + λV + V", False),
    # -- memory-footprint
    (MEM, "training", "2(hd + h + qh + q) + dn + 2hn + 2qn", True),
    (MEM, "training", "2*(d*h + h + q*h + q) + n*(d + 2*h + 2*q)", True),
    (MEM, "training", "2dh + 2h + 2hq + 2q + dn + 2hn + 2qn", True),
    (MEM, "training", "2 h (d + 1) + 2 q (h + 1) + n (d + 2h + 2q)", True),
    (MEM, "training", "2(h*(d+1) + q*(h+1)) + d n + 2 h n + 2 q n", True),
    (MEM, "training", "2(hd + h + qh + q) + dn + hn + 2qn", False),
    (MEM, "training", "hd + h + qh + q + dn + 2hn + 2qn", False),
    (MEM, "training", "2(hd + qh) + dn + 2hn + 2qn", False),
    (MEM, "training", "2(hd + h + qh + q) + d + 2h + 2q", False),
    (MEM, "training", "8(2(hd + h + qh + q) + dn + 2hn + 2qn)", False),
    (MEM, "training", "2(hd + h + qh + q) + dn + 2hn + qn", False),
    (MEM, "training", "2(hd + h + qh + q) + 2hn + 2qn", False),
    (MEM, "prediction", "hd + h + qh + q + 2hn", True),
    (MEM, "prediction", "dh + h + hq + q + 2nh", True),
    (MEM, "prediction", "h(d + 1) + q(h + 1) + 2 h n", True),
    (MEM, "prediction", "d*h + h + q*h + q + max(d*n + h*n, 2*h*n, h*n + q*n)", True),
    (MEM, "prediction", "hd + h + qh + q + hn", False),
    (MEM, "prediction", "hd + h + qh + q + dn + 2hn + 2qn", False),
    (MEM, "prediction", "2(hd + h + qh + q) + 2hn", False),
    (MEM, "prediction", "hd + qh + 2hn", False),
    (MEM, "prediction", "hd + h + qh + q + 3hn", False),
    # -- jacobian-shape
    (JS, "shape", "n-by-m", True),
    (JS, "shape", "n \\times m", True),
    (JS, "shape", "R^{n×m}", True),
    (JS, "shape", "[n, m]", True),
    (JS, "shape", "m-by-n", False),
    (JS, "shape", "n·m", False),
    (JS, "shape", "scalar", False),
    (JS, "dh_dz", "h-by-h", True),
    (JS, "dh_dz", "(h, h)", True),
    (JS, "dh_dz", "h", False),
    (JS, "dh_dz", "h×d", False),
    (JS, "do_dh", "q-by-h", True),
    (JS, "do_dh", "q×h", True),
    (JS, "do_dh", "h×q", False),
    (JS, "do_dh", "q", False),
    (JS, "do_dW2", "q × q × h", True),
    (JS, "do_dW2", "(q, q, h)", True),
    (JS, "do_dW2", "q×h", False),
    (JS, "do_dW2", "q×h×q", False),
    (JS, "dJ_dW1", "h-by-d", True),
    (JS, "dJ_dW1", "h x d", True),
    (JS, "dJ_dW1", "d×h", False),
    (JS, "dJ_dW1", "h·d", False),
]

# Correct mathematics the grader refuses as written (MATLAB's transpose of a vector, LaTeX
# beyond symbols), with what the message must ask for; not in TABLE, whose answers are graded.
REFUSED = [
    (BB, "dJ_dW2", "dJ_do h' + λW2", "h.T"),
    (SD, "hvp_W2", "λV + 2V h h'", "h.T"),
    (BB, "dJ_dW1", "dJ_dz \\cdot x^T + \\frac{1}{1} λ W1", "a/b"),
    (BB, "dJ_dh", "W2^{\\top} \\partial J/\\partial o", "∂J/∂o"),
]


def test_the_table_is_large_and_new():
    assert len(TABLE) >= 150
    assert len({(e, p, a) for e, p, a, _ in TABLE}) == len(TABLE)


# -- independent labels ------------------------------------------------------------------

ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
}


def _instance(rng: np.random.Generator, phi: str) -> dict:
    d, h, q = 3, 5, 2
    v = {
        "x": rng.normal(size=(d, 1)),
        "y": rng.normal(size=(q, 1)),
        "W1": rng.normal(size=(h, d)),
        "b1": rng.normal(size=(h, 1)),
        "W2": rng.normal(size=(q, h)),
        "b2": rng.normal(size=(q, 1)),
        "V": rng.normal(size=(q, h)),
        "lam": 0.37,
    }
    f = ACTIVATIONS[phi][0]

    def objective(W1, b1, W2, b2, z=None, hh=None, o=None):
        z = W1 @ v["x"] + b1 if z is None else z
        hh = f(z) if hh is None else hh
        o = W2 @ hh + b2 if o is None else o
        return float(np.sum((o - v["y"]) ** 2) + v["lam"] / 2 * (np.sum(W1**2) + np.sum(W2**2)))

    params = {k: v[k] for k in ("W1", "b1", "W2", "b2")}
    v["z"] = v["W1"] @ v["x"] + v["b1"]
    v["h"] = f(v["z"])
    v["o"] = v["W2"] @ v["h"] + v["b2"]

    def fd(function, at: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        grad = np.zeros_like(at)
        for index in np.ndindex(at.shape):
            step = np.zeros_like(at)
            step[index] = eps
            grad[index] = (function(at + step) - function(at - step)) / (2 * eps)
        return grad

    def objective_of(name):
        if name in params:
            return lambda value: objective(**{**params, name: value})
        return lambda value: objective(**params, **{name if name != "h" else "hh": value})

    for name in ("o", "h", "z", "W1", "b1", "W2", "b2"):
        v["dJ_d" + name] = fd(objective_of(name), v[name])
    v["d2J_db2"] = np.column_stack(
        [
            fd(objective_of("b2"), v["b2"] + e.reshape(-1, 1) * 1e-3).ravel() / 2e-3
            - fd(objective_of("b2"), v["b2"] - e.reshape(-1, 1) * 1e-3).ravel() / 2e-3
            for e in np.eye(2)
        ]
    )

    def grad_w2(W2):
        return fd(lambda w: objective(params["W1"], params["b1"], w, params["b2"]), W2, 1e-3)

    v["hvp_W2"] = (grad_w2(v["W2"] + 1e-3 * v["V"]) - grad_w2(v["W2"] - 1e-3 * v["V"])) / 2e-3
    return v


def _truth_namespace(part: str) -> Namespace:
    return Namespace(
        variables={
            **Namespace.chapter().variables,
            "dJ_do": ["q"],
            "dJ_dh": ["h"],
            "dJ_dz": ["h"],
            "V": ["q", "h"],
        },
        sizes=("d", "h", "q"),
        functions={"l": 2},
        activations=("phi",),
        identity="q" if part == "d2J_db2" else None,
    )


def _formula_truth(part: str, answer: str) -> bool:
    """True when ``answer`` equals the finite-difference value on two activations; a formula
    the language cannot read or evaluate counts as not equal."""
    for phi, seed in (("tanh", 1), ("sigmoid", 2)):
        v = _instance(np.random.default_rng(seed), phi)
        expected = v[part]
        try:
            tree = parse(answer, _truth_namespace(part))
            sizes = {"d": 3, "h": 5, "q": 2}
            # prod(A, B) takes the arrangement whose shape the context needs (the chapter)
            value = evaluate(tree, v, {"phi": phi}, sizes=sizes, expect=expected.shape)
        except FormulaError:
            return False
        if value.shape != expected.shape or not np.allclose(value, expected, atol=1e-5):
            return False
    return True


TRAINING = "2*(h*d + h + q*h + q) + d*n + 2*h*n + 2*q*n"  # derived in the prompt's convention
PREDICTION = "h*d + h + q*h + q + 2*h*n"  # h > d, h > q: W1 X and W1 X + b1 alive together


def _count_truth(part: str, answer: str) -> bool:
    sizes = ["d", "h", "q", "n"]
    ns = Namespace(
        variables=dict.fromkeys(sizes, []),
        functions={"max": (1, 16)},
        letter_products=True,
    )
    rng = np.random.default_rng(3)
    reference = parse(TRAINING if part == "training" else PREDICTION, ns)
    tree = parse(answer, ns)
    for _ in range(6):
        d, q = (int(a) for a in rng.integers(2, 20, size=2))
        point = {"d": d, "q": q, "h": max(d, q) + int(rng.integers(1, 20)), "n": 7}
        point["n"] = int(rng.integers(2, 50))
        functions = {"max": lambda *a: np.max([float(x) for x in a])}
        if evaluate(tree, point, functions) != evaluate(reference, point, functions):
            return False
    return True


SHAPES = {"shape": "n m", "dh_dz": "h h", "do_dh": "q h", "do_dW2": "q q h", "dJ_dW1": "h d"}


@pytest.mark.parametrize(("slug", "part", "answer", "correct"), TABLE)
def test_labels_agree_with_the_mathematics(slug, part, answer, correct):
    if slug in (BB, SD):
        assert _formula_truth(part, answer) == correct, answer
    elif slug == MEM:
        assert _count_truth(part, answer) == correct, answer


# -- the grader on the table ---------------------------------------------------------------


def _grade(slug: str, part_id: str, answer: str, seed: int):
    spec = SPECS[slug]
    part = next(p for p in spec.parts if p.id == part_id)
    return get_kind(part.kind).grade(part, answer, GradingContext(spec, seed=seed))


@pytest.fixture(scope="module")
def verdicts():
    results = {}
    for slug, part, answer, _correct in TABLE:
        for seed in SEEDS:
            results[(slug, part, answer, seed)] = _grade(slug, part, answer, seed)
    return results


def test_no_false_accept_no_false_reject_no_error(verdicts):
    problems = []
    for slug, part, answer, correct in TABLE:
        for seed in SEEDS:
            result = verdicts[(slug, part, answer, seed)]
            if result.correct != correct or result.status != GRADED:
                problems.append((slug, part, answer, seed, result.diagnosis, result.feedback))
    assert problems == []


@pytest.mark.parametrize(("slug", "part", "answer", "words"), REFUSED)
def test_refused_mathematics_is_told_what_to_write(slug, part, answer, words):
    for seed in SEEDS:
        result = _grade(slug, part, answer, seed)
        assert not result.correct
        assert words in result.feedback, result.feedback


def generic_share(verdicts) -> float:
    wrong = [
        verdicts[(slug, part, answer, seed)]
        for slug, part, answer, correct in TABLE
        if not correct
        for seed in SEEDS
    ]
    generic = [r for r in wrong if r.diagnosis in GENERIC]
    return len(generic) / len(wrong)


def test_few_wrong_answers_get_only_the_generic_sentence(verdicts):
    share = generic_share(verdicts)
    print(f"generic share: {share:.1%}")
    assert share < 0.05


# -- any answer, any seed: a verdict ---------------------------------------------------------

NAMES = ["x", "y", "z", "h", "o", "W1", "W2", "b1", "b2", "λ", "dJ_do", "dJ_dh", "dJ_dz", "V"]
ATOMS = NAMES + ["2", "0.5", "I", "eye(q)", "eye(4)", "ones(h)", "φ'(z)", "phi(z)", "tanh(z)"]


@st.composite
def formulas(draw, depth: int = 3):
    if depth == 0 or draw(st.booleans()):
        atom = draw(st.sampled_from(ATOMS))
        return atom + draw(st.sampled_from(["", "ᵀ", ".T", "'"]))
    left = draw(formulas(depth - 1))
    right = draw(formulas(depth - 1))
    op = draw(st.sampled_from([" + ", " - ", " ", " ⊙ ", " * ", " @ ", " ⊗ ", "/"]))
    text = left + op + right
    return f"({text})" if draw(st.booleans()) else text


FORMULA_PARTS = [
    (slug, part.id) for slug in (BB, SD) for part in SPECS[slug].parts if part.kind == "formula"
]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    where=st.sampled_from(FORMULA_PARTS),
    answer=formulas(),
    seed=st.integers(0, 2**31 - 1),
)
@example(where=(SD, "d2J_db2"), answer="2*eye(4)", seed=1)  # once a crash at this seed
@example(where=(SD, "d2J_db2"), answer="2*eye(4)", seed=5)
def test_any_answer_any_seed_gets_a_verdict(where, answer, seed):
    slug, part = where
    result = _grade(slug, part, answer, seed)  # raises on an internal error
    assert result.feedback
    assert result.status in (GRADED, "invalid")


# -- feedback that names the mistake ---------------------------------------------------------

FEEDBACK = [
    # (exercise, part, answer, words the feedback must contain, words it must not)
    (BB, "o", "W2 tanh(z) + b2", "`tanh(z)` is one specific activation", "φ′ ="),
    (BB, "dJ_dW1", "dJ_dz xᵀ + 2 lam W1", "coefficient of `lam*W1`", "does not belong"),
    (BB, "dJ_dz", "dJ_dh φ'(z)", "for an elementwise product use ⊙", "transpose"),
    (BB, "dJ_dz", "dJ_dh ⊙ φ'(h)", "wrong node", "sample point"),
    (BB, "dJ_dW1", "(dJ_dh ⊙ φ(z)) xᵀ + λW1", "derivative φ′", "sample point"),
    (BB, "dJ_dh", "W2ᵀ dJ_do ⊙ φ'(z)", "does not belong", "sample point"),
    (SD, "d2J_db2", "eye(3)", "(3×3)", "(d×d)"),
    (SD, "d2J_db2", "2*eye(4)", "Write sizes by name", "(h×h)"),
]


@pytest.mark.parametrize(("slug", "part", "answer", "words", "not_words"), FEEDBACK)
def test_feedback_names_the_mistake(slug, part, answer, words, not_words):
    for seed in SEEDS:
        result = _grade(slug, part, answer, seed)
        assert not result.correct
        assert words in result.feedback, result.feedback
        assert not_words not in result.feedback, result.feedback


COUNT_ATOMS = ["d", "h", "q", "n", "2", "hn", "dh", "2hn", "max(d, h)", "qn"]


@st.composite
def counts(draw, depth: int = 3):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(COUNT_ATOMS))
    op = draw(st.sampled_from([" + ", " - ", " ", "*", "/", "^"]))
    text = draw(counts(depth - 1)) + op + draw(counts(depth - 1))
    return f"({text})" if draw(st.booleans()) else text


@settings(max_examples=60, deadline=None, derandomize=True)
@given(part=st.sampled_from(["training", "prediction"]), answer=counts(), seed=st.integers(0, 999))
def test_any_count_any_seed_gets_a_verdict(part, answer, seed):
    result = _grade(MEM, part, answer, seed)
    assert result.feedback
    assert result.status in (GRADED, "invalid")
