"""The shape kind: notations accepted, sizes compared, transposes and ranks named."""

import pytest

from grader.catalog import parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind
from grader.kinds.shape import ShapeError, parse_shape

SPEC = parse_exercise("""
slug: s
title: S
dims: {d: [2, 5], h: [2, 5], q: [2, 5]}
parts:
  - {id: grad, kind: shape, sizes: [n, m], answer: n×m,
     mistakes: [{answer: "1", feedback: "f is a scalar but its gradient is not"}]}
  - {id: jac, kind: shape, answer: q×q×h}
  - {id: vec, kind: shape, answer: q}
  - {id: flat, kind: shape, answer: q·h}
""")


def grade(part_id, answer):
    part = SPEC.part(part_id)
    return get_kind("shape").grade(part, answer, GradingContext(SPEC, 1))


@pytest.mark.parametrize(
    "answer",
    [
        "n×m",
        "n x m",
        "nxm",
        "n X m",
        "(n, m)",
        "[n, m]",
        "n by m",
        "R^{n×m}",
        "ℝ^{n×m}",
        "R^(n x m)",
        "n*m",
        " n × m ",
        "n, m",
        "\\mathbb{R}^{n×m}",
    ],
)
def test_correct_notations(answer):
    result = grade("grad", answer)
    assert result.correct and result.score == 1.0, result.feedback


def test_transposed_is_named():
    result = grade("grad", "m×n")
    assert not result.correct and result.diagnosis == "transposed"
    assert "transposed" in result.feedback


def test_listed_mistake_feedback_wins():
    result = grade("grad", "scalar")
    assert result.diagnosis == "mistake:0"
    assert result.feedback == "f is a scalar but its gradient is not"


def test_wrong_rank_with_same_entries():
    result = grade("jac", "q×(q·h)")
    assert result.diagnosis == "wrong-rank" and "right number of entries" in result.feedback


def test_wrong_rank_different_entries():
    result = grade("jac", "q×h")
    assert not result.correct and result.diagnosis == "wrong-rank"
    assert "expected 3" in result.feedback


def test_vector_as_column_or_flat():
    assert grade("vec", "q").correct
    assert grade("vec", "q×1").correct
    assert grade("vec", "(q, 1)").correct
    assert not grade("vec", "1×h").correct


def test_products_commute():
    assert grade("flat", "h·q").correct
    assert not grade("flat", "h").correct


def test_wrong_sizes_same_rank():
    result = grade("jac", "q×h×h")
    assert not result.correct and result.diagnosis == "axis-size"
    assert "axis 2" in result.feedback


@pytest.mark.parametrize(
    "answer,message",
    [
        ("n×k", "Unknown size 'k'"),
        ("", "empty"),
        ("n×m; drop table", "Cannot read"),
        ("__import__('os')", "Cannot read"),
        ("×".join(["n"] * 20), "At most"),
        ("n" * 300, "characters"),
    ],
)
def test_unreadable_answers_are_invalid_not_wrong(answer, message):
    result = grade("grad", answer)
    assert result.status == "invalid" and result.score == 0
    assert message in result.feedback


def test_non_string_answer_is_invalid():
    assert grade("grad", ["n", "m"]).status == "invalid"


def test_parse_shape_raises_for_unknown():
    with pytest.raises(ShapeError):
        parse_shape("a×b", {"n"})


def test_check_flags_a_mistake_that_is_correct():
    spec_text = """
slug: s
title: S
parts:
  - {id: g, kind: shape, sizes: [n, m], answer: n×m,
     mistakes: [{answer: "(n, m)", feedback: "nope"}]}
"""
    from grader.catalog import CatalogError

    with pytest.raises(CatalogError) as info:
        parse_exercise(spec_text, "x.yaml")
    assert "is correct" in info.value.issues[0].message
    assert info.value.issues[0].field == "parts[0].mistakes[0].answer"
