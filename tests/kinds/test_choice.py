"""The choice kind: single and multiple answers, partial credit, invalid ids."""

import pytest

from grader.catalog import parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind

SPEC = parse_exercise("""
slug: c
title: C
parts:
  - id: one
    kind: choice
    options: [{id: a, text: A}, {id: b, text: B, feedback: "B confuses h and z."}]
    answer: [a]
  - id: many
    kind: choice
    multiple: true
    points: 2
    options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}]
    answer: [a, b]
""")


def grade(part_id, answer):
    return get_kind("choice").grade(SPEC.part(part_id), answer, GradingContext(SPEC, 0))


def test_single_correct_as_list_or_string():
    assert grade("one", ["a"]).correct
    assert grade("one", "a").correct


def test_single_wrong_gets_option_feedback():
    result = grade("one", ["b"])
    assert not result.correct and result.score == 0
    assert result.feedback == "B confuses h and z." and result.diagnosis == "option:b"


def test_single_with_two_choices_is_invalid():
    assert grade("one", ["a", "b"]).status == "invalid"


@pytest.mark.parametrize(
    "answer,score",
    [
        (["a", "b"], 2.0),
        (["a"], 1.0),
        (["a", "c"], 0.0),
        (["c", "d"], 0.0),
        (["a", "b", "c"], 1.0),
        (["b", "a", "a"], 2.0),
    ],
)
def test_multiple_partial_credit(answer, score):
    assert grade("many", answer).score == score


def test_unknown_option_is_invalid_and_lists_options():
    result = grade("one", ["z"])
    assert result.status == "invalid" and "a, b" in result.feedback


@pytest.mark.parametrize("answer", [{"a": 1}, [1, 2], 3])
def test_malformed_answers_are_invalid(answer):
    assert grade("one", answer).status == "invalid"


def test_public_view_hides_key_and_feedback():
    public = get_kind("choice").public(SPEC.part("one"))
    assert "answer" not in public
    assert public["options"] == [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]
