"""The preview service: how an answer reads, and whether its sizes can fit."""

from grader.catalog import load_files
from grader.services.preview import preview_answer
from tests.conftest import EXERCISES


def _spec(slug: str):
    (loaded,) = load_files([EXERCISES / f"{slug}.yaml"])
    return loaded.spec


def test_a_formula_that_reads_but_cannot_fit_has_a_problem():
    spec = _spec("backprop-bias")
    reading = preview_answer(spec, "o", "h W2 + b2")
    assert reading["valid"] and reading["mathml"]
    assert "Shape error" in reading["problem"]["message"]
    assert "problem" not in preview_answer(spec, "o", "W2 h + b2")


def test_the_preview_never_tells_a_wrong_value_from_a_right_one():
    spec = _spec("backprop-bias")
    right, wrong = preview_answer(spec, "dJ_do", "2(o - y)"), preview_answer(spec, "dJ_do", "o - y")
    assert {k: v for k, v in right.items() if k not in ("source", "latex", "mathml")} == {
        k: v for k, v in wrong.items() if k not in ("source", "latex", "mathml")
    }
