"""backprop-bias graded as a table: correct answers in every notation, each anticipated
mistake, and the generic diagnoses, with the verdict, the diagnosis and the feedback expected."""

from pathlib import Path

import pytest

from grader.catalog import parse_exercise
from grader.kinds.base import GRADED, INVALID, GradingContext
from grader.kinds.registry import get_kind

SPEC = parse_exercise((Path(__file__).parents[2] / "exercises" / "backprop-bias.yaml").read_text())
KIND = get_kind("formula")

C = (True, "correct", "Correct.")

# (part, answer, correct, diagnosis, feedback substring)
TABLE = [
    # forward: z
    ("z", "W1 @ x + b1", *C),
    ("z", "W1 x + b1", *C),
    ("z", "W_1 x + b_1", *C),
    ("z", "W^(1)·x + b^(1)", *C),
    ("z", "W⁽¹⁾ x + b⁽¹⁾", *C),
    ("z", "b1 + W1 @ x", *C),
    ("z", "W1 @ x", False, "mistake:0", "has a bias"),
    ("z", "x @ W1", False, "mistake:1", "W₁ on the left"),
    ("z", "W1.T @ x + b1", False, "mistake:2", "needs no transpose"),
    ("z", "W1 @ x - b1", False, "term:-2*b1", "coefficient of `b1`"),
    # forward: o
    ("o", "W2 @ h + b2", *C),
    ("o", "W_2 h + b_2", *C),
    ("o", "W2 phi(W1 x + b1) + b2", *C),
    ("o", "W2 φ(z) + b2", *C),
    ("o", "W2 @ z + b2", False, "mistake:0", "not from z"),
    ("o", "W2 @ h", False, "mistake:1", "Keep the output bias"),
    ("o", "W2 @ h + b1", False, "mistake:2", "b₁ belongs to the hidden layer"),
    # dJ/do
    ("dJ_do", "2*(o - y)", *C),
    ("dJ_do", "2(o − y)", *C),
    ("dJ_do", "2 o - 2 y", *C),
    ("dJ_do", "-2*(y - o)", *C),
    ("dJ_do", "o - y", False, "mistake:0", "Missing the factor 2"),
    ("dJ_do", "2*(y - o)", False, "mistake:1", "sign is reversed"),
    ("dJ_do", "2*(o - y) + lam*o", False, "mistake:2", "does not depend on o"),
    ("dJ_do", "4*(o - y)", False, "factor:2", "Off by a factor of 2"),
    # dJ/db2
    ("dJ_db2", "dJ_do", *C),
    ("dJ_db2", "2(o - y)", *C),
    ("dJ_db2", "dJ_do + lam*b2", False, "mistake:0", "weights only"),
    ("dJ_db2", "dJ_do + λ b_2", False, "mistake:0", "weights only"),
    ("dJ_db2", "dJ_do @ h.T", False, "mistake:1", "without the penalty"),
    ("dJ_db2", "W2.T @ dJ_do", False, "mistake:2", "is ∂J/∂h"),
    ("dJ_db2", "-dJ_do", False, "sign", "sign is flipped"),
    # dJ/dW2
    ("dJ_dW2", "dJ_do @ h.T + lam*W2", *C),
    ("dJ_dW2", "dJ_do hᵀ + λ W_2", *C),
    ("dJ_dW2", "2(o - y) @ h.T + lambda*W2", *C),
    ("dJ_dW2", "outer(2*(o - y), h) + lam*W2", *C),
    ("dJ_dW2", "dJ_do @ h.T", False, "mistake:0", "weight decay"),
    ("dJ_dW2", "2*(o - y) @ h.T", False, "mistake:0", "weight decay"),
    ("dJ_dW2", "h @ dJ_do.T + lam*W2.T", False, "mistake:1", "transpose of ∂J/∂W₂"),
    ("dJ_dW2", "dJ_do @ z.T + lam*W2", False, "mistake:2", "not z"),
    ("dJ_dW2", "dJ_do @ h.T + lam/2*W2", False, "mistake:3", "½ cancels"),
    ("dJ_dW2", "dJ_do @ h.T + 2*lam*W2", False, "mistake:4", "not 2λW₂"),
    ("dJ_dW2", "dJ_do @ h.T + lam*W2 + lam*b2 @ h.T", False, "mistake:5", "biases are not"),
    ("dJ_dW2", "(o - y) @ h.T + lam*W2", False, "mistake:6", "factor 2"),
    ("dJ_dW2", "dJ_do @ h.T - lam*W2", False, "term:-2*lam*W2", "coefficient of `lam*W2`"),
    ("dJ_dW2", "lam*W2", False, "missing-term:dJ_do @ h.T", "lacks `dJ_do @ h.T`"),
    # dJ/dh
    ("dJ_dh", "W2.T @ dJ_do", *C),
    ("dJ_dh", "W2^T dJ_do", *C),
    ("dJ_dh", "W_2ᵀ (2(o − y))", *C),
    ("dJ_dh", "transpose(W2) @ (2*(o-y))", *C),
    ("dJ_dh", "(dJ_do.T @ W2).T", *C),
    ("dJ_dh", "W2 @ dJ_do", False, "mistake:0", "Missing the transpose"),
    ("dJ_dh", "W2 dJ_do", False, "mistake:0", "Missing the transpose"),
    ("dJ_dh", "dJ_do.T @ W2", False, "mistake:1", "This is a row"),
    ("dJ_dh", "W2.T @ dJ_do + lam*W2.T @ ones(q)", False, "mistake:2", "does not depend on h"),
    ("dJ_dh", "W2.T @ (o - y)", False, "factor:1/2", "Off by a factor of 2"),
    # dJ/dz
    ("dJ_dz", "dJ_dh * phi'(z)", *C),
    ("dJ_dz", "dJ_dh ⊙ φ'(z)", *C),
    ("dJ_dz", "dJ_dh ⊙ φ′(z)", *C),
    ("dJ_dz", "(W2.T @ (2*(o-y))) * dphi(z)", *C),
    ("dJ_dz", "diag(phi'(z)) @ dJ_dh", *C),
    ("dJ_dz", "dJ_dh", False, "mistake:0", "Missing φ′(z)"),
    ("dJ_dz", "dJ_dh * phi'(h)", False, "mistake:1", "wrong node"),
    ("dJ_dz", "dJ_dh * dphi(h)", False, "mistake:1", "wrong node"),
    ("dJ_dz", "dJ_dh * phi(z)", False, "mistake:2", "its derivative"),
    ("dJ_dz", "dJ_dh * h", False, "mistake:2", "its derivative"),
    ("dJ_dz", "phi'(z) @ dJ_dh.T", False, "mistake:3", "elementwise product"),
    ("dJ_dz", "dJ_dh * phi'(W1 @ x)", False, "mistake:4", "bias included"),
    ("dJ_dz", "dJ_dh * (1 - tanh(z)^2)", False, "activation:tanh", "Correct for tanh only"),
    (
        "dJ_dz",
        "dJ_dh * sigmoid(z) * (1 - sigmoid(z))",
        False,
        "activation:sigmoid",
        "Correct for sigmoid only",
    ),
    # dJ/db1
    ("dJ_db1", "dJ_dz", *C),
    ("dJ_db1", "W2^T (2(o − y)) ⊙ φ'(z)", *C),
    ("dJ_db1", "(W2.T @ (2*(o-y))) * dphi(z)", *C),
    ("dJ_db1", "dJ_dh ⊙ phi'(z)", *C),
    ("dJ_db1", "dJ_dz + lam*b1", False, "mistake:0", "not in the penalty"),
    ("dJ_db1", "dJ_dz + λ b_1", False, "mistake:0", "not in the penalty"),
    ("dJ_db1", "dJ_dh", False, "mistake:1", "Missing φ′(z)"),
    ("dJ_db1", "dJ_dh * phi'(h)", False, "mistake:2", "wrong node"),
    ("dJ_db1", "dJ_dz @ x.T", False, "mistake:3", "without the penalty"),
    ("dJ_db1", "W1.T @ dJ_dz", False, "mistake:4", "is ∂J/∂x"),
    ("dJ_db1", "2*dJ_dz", False, "factor:2", "Off by a factor of 2"),
    ("dJ_db1", "-dJ_dz", False, "sign", "sign is flipped"),
    ("dJ_db1", "dJ_dz + b1", False, "extra-term:b1", "extra term `b1`"),
    ("dJ_db1", "dJ_dh * (1 - tanh(z)^2)", False, "activation:tanh", "1 − tanh²"),
    ("dJ_db1", "W2.T @ (2*(o-y)) * (1 - h^2)", False, "activation:tanh", "Correct for tanh only"),
    ("dJ_db1", "dJ_dz.T", False, "transposed", "transpose of the expected value"),
    ("dJ_db1", "dJ_dh @ dphi(z)", False, "shape", "matrix product"),
    ("dJ_db1", "dJ_dz @ dJ_dz.T", False, "shape", "a matrix (h×h)"),
    # dJ/dW1
    ("dJ_dW1", "dJ_dz @ x.T + lam*W1", *C),
    ("dJ_dW1", "dJ_dz xᵀ + λ W1", *C),
    ("dJ_dW1", "(W2.T @ (2*(o-y)) * dphi(z)) @ x.T + lam*W1", *C),
    ("dJ_dW1", "(W_2ᵀ (2(o − y)) ⊙ φ'(z)) xᵀ + λ W_1", *C),
    ("dJ_dW1", "dJ_dz @ x.T", False, "mistake:0", "weight decay"),
    ("dJ_dW1", "x @ dJ_dz.T + lam*W1.T", False, "mistake:1", "transpose of ∂J/∂W₁"),
    ("dJ_dW1", "dJ_dh @ x.T + lam*W1", False, "mistake:2", "Missing φ′(z)"),
    ("dJ_dW1", "(dJ_dh * phi'(h)) @ x.T + lam*W1", False, "mistake:3", "wrong node"),
    ("dJ_dW1", "dJ_dz @ h.T + lam*W1", False, "mistake:4", "multiplies the input x"),
    ("dJ_dW1", "dJ_dz @ x.T + lam*W1 + lam*b1 @ x.T", False, "mistake:5", "not in the penalty"),
    ("dJ_dW1", "dJ_dz @ x.T + lam/2*W1", False, "mistake:6", "½ cancels"),
    (
        "dJ_dW1",
        "dJ_dz @ x.T + lam*W1 + lam*W2.T @ W2 @ W1",
        False,
        "extra-term:lam*W2.T @ W2 @ W1",
        "extra term `lam*W2.T @ W2 @ W1`",
    ),
    ("dJ_dW1", "dJ_dz @ x.T + 2*lam*W1", False, "term:1*lam*W1", "2 times what it should be"),
    ("dJ_dW1", "x @ dJ_dz.T", False, "shape", "a matrix (d×h)"),
]


@pytest.fixture(scope="module")
def ctx() -> GradingContext:
    return GradingContext(SPEC, seed=20240611)


@pytest.mark.parametrize(("part_id", "answer", "correct", "diagnosis", "feedback"), TABLE)
def test_backprop_bias_table(ctx, part_id, answer, correct, diagnosis, feedback):
    result = KIND.grade(SPEC.part(part_id), answer, ctx)
    assert result.status == GRADED
    assert (result.correct, result.diagnosis) == (correct, diagnosis), result.feedback
    assert feedback in result.feedback
    assert result.score == (SPEC.part(part_id).points if correct else 0.0)


def test_table_covers_every_part_and_every_mistake():
    assert len(TABLE) >= 60
    for part in SPEC.parts:
        rows = [row for row in TABLE if row[0] == part.id]
        assert any(row[2] for row in rows), part.id
        listed = {row[3] for row in rows if row[3].startswith("mistake:")}
        assert listed == {f"mistake:{i}" for i in range(len(part.mistakes))}, part.id


@pytest.mark.parametrize("seed", [0, 1, 99])
def test_same_verdicts_for_other_seeds(seed):
    ctx = GradingContext(SPEC, seed)
    for part_id, answer, correct, diagnosis, _ in TABLE[::3]:
        result = KIND.grade(SPEC.part(part_id), answer, ctx)
        assert (result.correct, result.diagnosis) == (correct, diagnosis), (part_id, answer)


@pytest.mark.parametrize(
    ("part_id", "answer", "diagnosis", "feedback"),
    [
        ("dJ_db1", "(dJ_dz", "syntax", "column 1"),
        ("dJ_db1", "dJ_dz +* 2", "syntax", "column"),
        ("dJ_db1", "foo + 1", "unknown-name", "known names"),
        ("dJ_db1", "grad(J, b1)", "unknown-function", "unknown function `grad`"),
        ("z", "z", "unknown-name", "cannot be used in this part"),
        ("o", "o + 0", "unknown-name", "cannot be used in this part"),
        ("dJ_do", "", "empty", "Write a formula"),
        ("dJ_do", "x" * 3000, "too-large", "at most"),
    ],
)
def test_invalid_answers_cost_nothing(ctx, part_id, answer, diagnosis, feedback):
    result = KIND.grade(SPEC.part(part_id), answer, ctx)
    assert result.status == INVALID and result.score == 0.0
    assert result.diagnosis == diagnosis.replace("unknown-function", "unknown-name")
    assert feedback in result.feedback


def test_examples_of_the_yaml_grade_as_stated(ctx):
    for example in SPEC.examples:
        result = KIND.grade(SPEC.part(example.part), example.answer, ctx)
        assert result.correct == example.correct, (example.part, example.answer)
        assert example.feedback is None or example.feedback in result.feedback


def test_self_test_cases_grade_as_stated(ctx):
    for part in SPEC.parts:
        for case in KIND.self_test_cases(part, SPEC):
            result = KIND.grade(part, case.answer, ctx)
            assert result.correct == case.correct, (part.id, case.answer)
            assert case.feedback is None or case.feedback in result.feedback
