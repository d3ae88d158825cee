"""The text kind: answers are stored for review, within length limits; the rubric stays private."""

import pytest
import yaml

from grader.catalog import CatalogError, parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind
from grader.kinds.spec import ExerciseSpec

KIND = get_kind("text")
BASE = {"slug": "essay", "title": "Essay"}


def spec_with(**part) -> ExerciseSpec:
    return ExerciseSpec.model_validate(
        dict(BASE, parts=[{"id": "essay", "kind": "text", "points": 3, **part}])
    )


def test_answer_waits_for_review_with_score_zero():
    spec = spec_with(rubric="1 point per idea")
    result = KIND.grade(spec.parts[0], "  Model parallelism.  ", GradingContext(spec, 1))
    assert result.status == "needs_review" and result.score == 0 and not result.correct
    assert result.max_score == 3 and result.details == {"length": len("Model parallelism.")}
    assert "instructor will grade" in result.feedback


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["a list"], "as text"),
        ("   ", "Write an answer"),
        ("short", "at least 10"),
        ("x" * 51, "limit is 50"),
    ],
)
def test_unreadable_or_out_of_bounds_answers_are_invalid(answer, message):
    spec = spec_with(max_length=50, min_length=10)
    result = KIND.grade(spec.parts[0], answer, GradingContext(spec, 1))
    assert result.status == "invalid" and message in result.feedback


def test_rubric_and_sample_are_private():
    public = spec_with(rubric="secret rubric", sample="secret sample").public()["parts"][0]
    assert "rubric" not in public and "sample" not in public
    assert public["max_length"] == 5000


def test_limits_are_checked_when_loading():
    data = dict(BASE, parts=[{"id": "essay", "kind": "text", "min_length": 100, "max_length": 10}])
    with pytest.raises(CatalogError, match="min_length is larger"):
        parse_exercise(yaml.safe_dump(data), "essay.yaml")


def test_self_test_case_is_the_sample():
    spec = spec_with(sample="A model answer.")
    cases = KIND.self_test_cases(spec.parts[0], spec)
    assert [(c.answer, c.correct) for c in cases] == [("A model answer.", False)]
    assert KIND.self_test_cases(spec_with().parts[0], spec) == []
