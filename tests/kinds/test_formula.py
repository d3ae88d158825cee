"""The formula kind: diagnoses, earlier-part binding, invalid input, load-time checks, preview."""

from pathlib import Path

import numpy as np
import pytest

from grader.catalog import CatalogError, parse_exercise
from grader.kinds.base import GRADED, INVALID, GradingContext
from grader.kinds.formula_diagnose import constant_factor, format_factor
from grader.kinds.registry import get_kind

KIND = get_kind("formula")
HEADER = (Path(__file__).parents[1] / "fixtures" / "chapter-model.yaml").read_text()
HEADER = HEADER[: HEADER.index("parts:")]


def exercise(parts: str, grading: str = "") -> object:
    return parse_exercise(HEADER + grading + "parts:\n" + parts)


SPEC = exercise("""
  - id: dJ_do
    kind: formula
    reference: grad(J, o)
    answer: 2*(o - y)
  - id: dJ_db2
    kind: formula
    reference: grad(J, b2)
    answer: dJ_do
  - id: dJ_dW2
    kind: formula
    reference: grad(J, W2)
    answer: dJ_do @ h.T + lam*W2
  - id: dJ_dz
    kind: formula
    reference: grad(J, z)
    answer: W2.T @ dJ_do * dphi(z)
  - id: L
    kind: formula
    reference: L
    answer: norm(o - y)^2
  - id: H
    kind: formula
    reference: hessian(J, b2)
    answer: 2*eye(q)
""")


def grade(part_id: str, answer: str, seed: int = 3, spec=SPEC):
    return KIND.grade(spec.part(part_id), answer, GradingContext(spec, seed))


@pytest.mark.parametrize(
    ("part_id", "answer", "diagnosis", "words"),
    [
        ("dJ_do", "4*(o - y)", "factor:2", "Off by a factor of 2: your answer is 2 times"),
        ("dJ_do", "o - y", "factor:1/2", "Off by a factor of 2: your answer is 1/2 of"),
        ("dJ_do", "-6*(o - y)", "factor:-3", "with the opposite sign"),
        ("dJ_do", "2*(y - o)", "sign", "sign is flipped"),
        ("dJ_do", "0*o", "zero", "zero"),
        ("dJ_dW2", "dJ_do @ h.T", "missing-term:lam*W2", "lacks `lam*W2`"),
        ("dJ_dW2", "dJ_do @ h.T + lam*W2 + W2", "extra-term:W2", "extra term `W2`"),
        ("dJ_dW2", "dJ_do @ h.T + lam/2*W2", "term:-1/2*lam*W2", "coefficient of `lam*W2`"),
        ("dJ_dW2", "lam*W2", "missing-term:dJ_do @ h.T", "lacks `dJ_do @ h.T`"),
        ("dJ_dz", "W2.T @ dJ_do * (1 - tanh(z)^2)", "activation:tanh", "1 − tanh²"),
        ("dJ_dz", "W2.T @ dJ_do * sigmoid(z)", "activation:softplus", "softplus only"),
        ("dJ_dW2", "h @ dJ_do.T + lam*W2.T", "transposed", "transpose of the expected value"),
        (
            "H",
            "2*eye(q) + outer(b2, y) - outer(y, b2)",
            "extra-term:outer(b2, y);-outer(y, b2)",
            "extra term `outer(b2, y)`, `-outer(y, b2)`",
        ),
        (
            "dJ_dW2",
            "dJ_do @ h.T + lam*W2 + outer(o, z)",
            "extra-term:outer(o, z)",
            "extra term `outer(o, z)`",
        ),
        ("dJ_dW2", "dJ_do @ h.T + 1.3*lam*W2", "term:3/10*lam*W2", "13/10 times"),
        ("dJ_do", "log(0*o)", "not-finite", "non-finite"),
    ],
)
def test_generic_diagnoses(part_id, answer, diagnosis, words):
    result = grade(part_id, answer)
    assert (result.status, result.correct, result.diagnosis) == (GRADED, False, diagnosis)
    assert words in result.feedback


def test_square_transpose_is_diagnosed():
    spec = exercise("""
  - id: A
    kind: formula
    reference: outer(b2, y) + eye(q)
    answer: b2 @ y.T + eye(q)
""")
    result = grade("A", "y @ b2.T + eye(q)", spec=spec)
    assert result.diagnosis == "transposed"


def test_shape_error_names_the_sizes():
    result = grade("dJ_dz", "W2 @ dJ_do * dphi(z)")
    assert result.diagnosis == "shape" and result.status == GRADED
    assert "(q×h)" in result.feedback and "(q×1)" in result.feedback
    wrong_shape = grade("dJ_db2", "dJ_do @ dJ_do.T")
    assert wrong_shape.diagnosis == "shape"
    assert "a matrix (q×q)" in wrong_shape.feedback
    assert "a column vector (q×1)" in wrong_shape.feedback


def test_scalar_written_as_a_1x1_matrix_is_accepted():
    assert grade("L", "(o - y).T @ (o - y)").correct
    assert grade("L", "l(o, y)").correct


def test_earlier_parts_are_bound_to_their_reference_values():
    ctx = GradingContext(SPEC, 5)
    wrong_first = KIND.grade(SPEC.part("dJ_do"), "o - y", ctx)
    assert not wrong_first.correct
    assert KIND.grade(SPEC.part("dJ_db2"), "dJ_do", ctx).correct
    assert KIND.grade(SPEC.part("dJ_dW2"), "dJ_do hᵀ + λ W2", ctx).correct
    # the student's wrong dJ_do is not what the name means: (o - y) is wrong here
    assert not KIND.grade(SPEC.part("dJ_db2"), "o - y", ctx).correct


def test_later_part_ids_are_not_names_yet():
    result = grade("dJ_do", "dJ_db2")
    assert result.status == INVALID and result.diagnosis == "unknown-name"


@pytest.mark.parametrize(
    ("answer", "diagnosis", "column"),
    [
        ("2*(o - y", "syntax", "column"),
        ("2 ** ** o", "syntax", "column"),
        ("2*(o - q_hat)", "unknown-name", "known names"),
        ("grad(J, o)", "unknown-name", "unknown function"),
        (42, "empty", "Write a formula"),
    ],
)
def test_invalid_input_costs_no_attempt(answer, diagnosis, column):
    result = grade("dJ_do", answer)
    assert result.status == INVALID and result.diagnosis == diagnosis
    assert result.score == 0.0 and column in result.feedback


def test_allow_restricts_the_names():
    spec = exercise("""
  - id: dJ_dh
    kind: formula
    reference: grad(J, h)
    answer: W2.T @ (2*(o - y))
    allow: [W2, o, y]
""")
    assert grade("dJ_dh", "W2ᵀ (2(o − y))", spec=spec).correct
    refused = grade("dJ_dh", "W2.T @ (2*(W2 @ h + b2 - y))", spec=spec)
    assert refused.status == INVALID and "cannot be used in this part" in refused.feedback


def test_forward_part_may_not_name_itself():
    spec = exercise("""
  - id: z
    kind: formula
    reference: z
    answer: W1 @ x + b1
""")
    result = grade("z", "z", spec=spec)
    assert result.status == INVALID and "W1" in result.feedback
    assert grade("z", "W1 x + b1", spec=spec).correct


def _problems(parts: str) -> list[str]:
    with pytest.raises(CatalogError) as info:
        exercise(parts)
    return [f"{issue.field}: {issue.message}" for issue in info.value.issues]


def test_check_refuses_a_mistake_that_is_correct():
    problems = _problems("""
  - id: dJ_do
    kind: formula
    reference: grad(J, o)
    answer: 2*(o - y)
    mistakes:
      - {answer: "2*o - 2*y", feedback: "nope"}
""")
    assert any("mistakes[0].answer" in p and "in fact correct" in p for p in problems)


def test_check_refuses_a_mistake_shadowed_by_an_earlier_one():
    problems = _problems("""
  - id: dJ_do
    kind: formula
    reference: grad(J, o)
    answer: 2*(o - y)
    mistakes:
      - {answer: "o - y", feedback: "factor"}
      - {answer: "o - 1*y", feedback: "never shown"}
""")
    assert any("mistakes[1].answer" in p and "mistake 0" in p for p in problems)


@pytest.mark.parametrize(
    ("parts", "field", "words"),
    [
        (
            """
  - {id: a, kind: formula, reference: "grad(J, o"}
""",
            "reference",
            "does not parse",
        ),
        (
            """
  - {id: a, kind: formula, reference: "grad(J, o)"}
""",
            "answer",
            "add `answer:`",
        ),
        (
            """
  - {id: a, kind: formula, reference: "grad(J, o)", answer: "o - y"}
""",
            "answer",
            "does not equal the reference",
        ),
        (
            """
  - {id: a, kind: formula, reference: "grad(J, o)", answer: "2*(o - y)", allow: [o, y, nope]}
""",
            "allow",
            "'nope'",
        ),
        (
            """
  - id: a
    kind: formula
    reference: grad(J, o)
    answer: 2*(o - y)
    mistakes: [{answer: "grad(J, o) * 2", feedback: "x"}]
""",
            "mistakes[0].answer",
            "students' notation",
        ),
    ],
)
def test_check_problems_are_located(parts, field, words):
    problems = _problems(parts)
    assert any(p.startswith(f"parts[0].{field}") and words in p for p in problems), problems


def test_self_test_cases():
    part = SPEC.part("dJ_do")
    cases = KIND.self_test_cases(part, SPEC)
    assert cases[0].answer == "2*(o - y)" and cases[0].correct


def test_preview_uses_the_part_namespace():
    part = SPEC.part("dJ_db2")
    ok = KIND.preview(part, "dJ_do + 0*b2", SPEC)
    assert ok["valid"] and "<math" in ok["mathml"]
    refused = KIND.preview(SPEC.part("dJ_do"), "dJ_db2", SPEC)
    assert not refused["valid"] and refused["error"]["column"] == 1


def test_public_part_hides_reference_answer_and_mistakes():
    public = KIND.public(SPEC.part("dJ_do"))
    assert not {"reference", "answer", "mistakes"} & set(public)


def test_constant_factor_and_format():
    r = [np.arange(1.0, 4.0).reshape(3, 1), np.ones((2, 1))]
    assert constant_factor([2.5 * v for v in r], r, 1e-6, 1e-9) == pytest.approx(2.5)
    assert constant_factor([2 * r[0], 3 * r[1]], r, 1e-6, 1e-9) is None
    assert format_factor(0.5) == "1/2" and format_factor(-1.5) == "-3/2"
    assert format_factor(np.pi) == "3.142"


def test_grading_is_reproducible_for_a_seed():
    first = grade("dJ_dW2", "dJ_do @ h.T + lam*W2 + outer(o, z)", seed=9)
    again = grade("dJ_dW2", "dJ_do @ h.T + lam*W2 + outer(o, z)", seed=9)
    assert first == again
