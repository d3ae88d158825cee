"""The ``hints`` feedback level never states an expected value (issue 16).

Every exercise's listed mistakes (``Kind.self_test_cases``: the listed mistakes, each wrong
option of a choice) and the wrong ``examples`` of its YAML are graded; the hint of each result
(``Kind.hint``, what ``policy.feedback_view`` shows at ``hints``) must not contain the part's
reference answer (formula text, shape, count, key, reference expressions), any number with
decimals (a reference value), a graph edge, nor the listed mistake's own feedback (which often
states the answer); and it must not be empty.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from grader.catalog import load_files
from grader.kinds.base import GRADED, LISTED_MISTAKE_HINT, GradingContext
from grader.kinds.registry import get_kind
from grader.services.policy import feedback_view
from tests.conftest import EXERCISES

SPECS = [item.spec for item in load_files([EXERCISES])]
SEEDS = (0, 7)


def _squash(text: str) -> str:
    """Return ``text`` without spaces and brackets, with every axis separator as ``x``."""
    text = re.sub(r"[\s()\[\]{}]", "", text)
    return re.sub(r"×|\\times|\*|,|-by-", "x", text)


def expected_texts(part: Any) -> list[str]:
    """Return what states the part's expected value, squashed."""
    if part.kind == "formula":
        texts = [part.reference, part.answer or ""]
    elif part.kind in ("shape", "memory"):
        texts = [part.answer]
    elif part.kind == "choice":
        texts = [o.text for o in part.options if o.id in part.answer]
    elif part.kind == "code":
        texts = list(part.outputs.values())
    else:
        texts = []
    # a one-letter shape or count ("h") would match any word: only longer ones are checked
    return [_squash(t) for t in texts if len(_squash(t)) > 2]


def cases(spec: Any, part: Any) -> list[tuple[str, Any, str | None]]:
    """Return (label, wrong answer, its listed feedback) for the part."""
    found = [
        (case.label, case.answer, case.feedback)
        for case in get_kind(part.kind).self_test_cases(part, spec)
        if not case.correct
    ]
    found += [
        (f"example {i}", example.answer, None)
        for i, example in enumerate(spec.examples)
        if example.part == part.id and not example.correct
    ]
    return found


PARTS = [
    pytest.param(spec, part, id=f"{spec.slug}:{part.id}")
    for spec in SPECS
    for part in spec.parts
    if part.kind != "text"  # a text part's feedback is the reviewer's own words
]


@pytest.mark.parametrize(("spec", "part"), PARTS)
def test_hints_never_state_the_expected_value(spec, part):
    kind = get_kind(part.kind)
    expected = expected_texts(part)
    for seed in SEEDS:
        for label, answer, listed in cases(spec, part):
            result = kind.grade(part, answer, GradingContext(spec, seed)).to_dict()
            if result["status"] != GRADED:
                continue  # unreadable (costs nothing, shows the reader's message) or an error
            hint = feedback_view(result, "hints", part)["feedback"]
            where = f"{spec.slug}:{part.id} {label} {answer!r}: {hint!r}"
            assert hint.strip(), where
            for text in expected:
                assert text not in _squash(hint), where
            assert not re.search(r"\d\.\d{2,}", hint), where
            assert "->" not in hint and "→" not in hint, where
            if listed:
                assert listed not in hint, where
            if part.kind == "choice":
                named = re.findall(r"\bOptions? ([\w, ]+?) (?:is|are) not right", hint)
                assert not set(", ".join(named).split(", ")) & set(part.answer), where


def test_the_full_feedback_would_fail_the_check():
    """The check above has teeth: at the full level, listed mistakes state the answer."""
    stating = []
    for spec in SPECS:
        for part in spec.parts:
            expected = expected_texts(part)
            if part.kind not in ("shape", "formula") or not expected:
                continue
            for label, answer, _ in cases(spec, part):
                result = get_kind(part.kind).grade(part, answer, GradingContext(spec, 0))
                if any(text in _squash(result.feedback) for text in expected):
                    stating.append(f"{spec.slug}:{part.id} {label}")
    assert len(stating) >= 5, stating


def test_hints_name_the_mistake():
    spec = next(s for s in SPECS if s.slug == "jacobian-shape")
    part = next(p for p in spec.parts if p.id == "do_dh")
    kind = get_kind("shape")
    transposed = kind.grade(part, "h×q", GradingContext(spec, 0)).to_dict()  # a listed mistake
    assert transposed["diagnosis"] == "mistake:0"
    assert "h×q is the shape of W₂ᵀ" in transposed["feedback"]
    assert kind.hint(part, transposed) == ("Your shape has the right sizes in the opposite order.")
    rank = kind.grade(part, "q×h×d", GradingContext(spec, 0)).to_dict()
    assert "axes" in kind.hint(part, rank)
    formula_spec = next(s for s in SPECS if s.slug == "backprop-bias")
    formula = next(p for p in formula_spec.parts if p.id == "dJ_dW1")
    answer = "dJ_dz @ x.T + 3*lam*W1"
    result = get_kind("formula").grade(formula, answer, GradingContext(formula_spec, 0))
    assert result.diagnosis.startswith("term:")
    assert get_kind("formula").hint(formula, result.to_dict()) == (
        "One term of your answer has the wrong coefficient or sign."
    )
    assert "3 times what it should be" in result.feedback  # the full level says by how much


def test_code_hints_name_wrong_outputs_not_the_expected_shape():
    spec = next(s for s in SPECS if s.slug == "backprop-code")
    part = next(p for p in spec.parts if p.kind == "code")
    result = {
        "status": "graded",
        "correct": False,
        "score": 0.5,
        "diagnosis": "wrong-shape",
        "feedback": "b2 has shape (1,) but should have shape (q,) or (q, 1) (q = 4 here)",
        "details": {
            "outputs": {
                "W1": {"verdict": "correct", "message": "W1: correct."},
                "b2": {"verdict": "wrong-shape", "message": "should have shape (q,)"},
            }
        },
    }
    hint = get_kind("code").hint(part, result)
    assert hint == "1 of 2 outputs correct.\nb2: wrong shape."
    failed = dict(result, diagnosis="exception", feedback="Your code raised an exception: ...")
    assert get_kind("code").hint(part, failed) == failed["feedback"]  # about the student's code


def test_an_author_s_hint_names_a_listed_mistake():
    spec = next(s for s in SPECS if s.slug == "memory-footprint")
    part = next(p for p in spec.parts if p.id == "training")
    kind = get_kind("memory")
    result = kind.grade(part, part.mistakes[0].answer, GradingContext(spec, 0)).to_dict()
    assert result["diagnosis"] == "mistake:0"
    assert (
        kind.hint(part, result) == "Your count leaves out the gradient buffers of the parameters."
    )
    # without one, the kind's sentence for a listed mistake
    bare = part.model_copy(
        update={"mistakes": [m.model_copy(update={"hint": None}) for m in part.mistakes]}
    )
    assert kind.hint(bare, result) == LISTED_MISTAKE_HINT
    # a shape mistake's hint replaces the one read off how the shapes differ
    shapes = next(s for s in SPECS if s.slug == "jacobian-shape")
    do_dh = next(p for p in shapes.parts if p.id == "do_dh")
    transposed = get_kind("shape").grade(do_dh, "h×q", GradingContext(shapes, 0)).to_dict()
    hinted = do_dh.model_copy(
        update={"mistakes": [do_dh.mistakes[0].model_copy(update={"hint": "Mind the order."})]}
    )
    assert get_kind("shape").hint(hinted, transposed) == "Mind the order."


@pytest.mark.parametrize("slug", ["backprop-bias", "graph-bias"])
def test_formula_and_graph_mistakes_take_an_author_s_hint(slug):
    spec = next(s for s in SPECS if s.slug == slug)
    part = next(p for p in spec.parts if p.mistakes and p.kind in ("formula", "graph"))
    kind = get_kind(part.kind)
    result = kind.grade(part, part.mistakes[0].answer, GradingContext(spec, 0)).to_dict()
    assert result["diagnosis"] == "mistake:0"
    assert kind.hint(part, result) != "Look again."
    hinted = part.model_copy(
        update={"mistakes": [part.mistakes[0].model_copy(update={"hint": "Look again."})]}
    )
    assert kind.hint(hinted, result) == "Look again."
