"""Drawn graphs for graph-bias (chapter exercise 2.1), each with its expected score and feedback."""

import json
from pathlib import Path

import pytest

from grader.catalog import load_files
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_files([ROOT / "exercises" / "graph-bias.yaml"])[0].spec
PART = SPEC.part("graph")
KIND = get_kind("graph")

# The correct graph, written the plain way.
GOOD = (
    "x -> matmul#1; W1 -> matmul#1; matmul#1 -> add#1; b1 -> add#1; add#1 -> z; "
    "z -> phi; phi -> h; h -> matmul#2; W2 -> matmul#2; matmul#2 -> o; o -> l; y -> l; "
    "l -> L; W1 -> l2; W2 -> l2; l2 -> s; L -> add#2; s -> add#2; add#2 -> J"
)


def edit(*pairs: tuple[str, str]) -> str:
    text = GOOD
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


def json_graph(edges: list[tuple[str, str]], labels: dict[str, str], circles: set[str]) -> dict:
    ids = dict.fromkeys(a for edge in edges for a in edge)
    return {
        "nodes": [
            {"id": i, "label": labels.get(i, i), "type": "circle" if i in circles else "square"}
            for i in ids
        ],
        "edges": [list(e) for e in edges],
    }


JSON_EDGES = [
    ("x", "m1"),
    ("W1", "m1"),
    ("m1", "a1"),
    ("b1", "a1"),
    ("a1", "z"),
    ("z", "f"),
    ("f", "h"),
    ("h", "m2"),
    ("W2", "m2"),
    ("m2", "o"),
    ("o", "loss"),
    ("y", "loss"),
    ("loss", "L"),
    ("W1", "reg"),
    ("W2", "reg"),
    ("lam", "reg"),
    ("reg", "s"),
    ("L", "a2"),
    ("s", "a2"),
    ("a2", "J"),
]
JSON_LABELS = {
    "W1": "W^(1)",
    "W2": "W^{(2)}",
    "b1": "b_1",
    "lam": "λ",
    "m1": "×",
    "m2": "×",
    "a1": "+",
    "a2": "+",
    "f": "φ",
    "loss": "ℓ",
    "reg": "ℓ2",
}
CIRCLES = {"m1", "m2", "a1", "a2", "f", "loss", "reg"}
FINE_S = (
    "W1 -> l2; W2 -> l2; l2 -> s",
    "lam -> (/ 2) -> mul; W1 -> norm#1 -> (pow 2)#1 -> add#3; "
    "W2 -> norm#2 -> (pow 2)#2 -> add#3; add#3 -> mul -> s",
)

# (name, answer, score, correct, feedback fragment, diagnosis)
CASES = [
    ("plain text", GOOD, 2.0, True, "Correct.", "correct"),
    (
        "symbols and subscripts",
        edit(
            ("matmul#1", "×#1"),
            ("matmul#2", "×#2"),
            ("add#1", "+#1"),
            ("add#2", "+#2"),
            ("phi", "φ"),
            ("l2", "ℓ2"),
            ("W1", "W₁"),
            ("W2", "W₂"),
            ("b1", "b₁"),
            (" l;", " ℓ;"),
            ("l -> L", "ℓ -> L"),
        ),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "brackets and parentheses",
        edit(("x ->", "[x] ->"), ("matmul#1 ->", "(matmul#1) ->"), ("-> z;", "-> [z];")),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "latex-style names",
        edit(("W1", "W^(1)"), ("W2", "W^{(2)}"), ("b1", "b_1")),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "@ and * for the products",
        edit(("matmul#1", "@#1"), ("matmul#2", "*#2")),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "one edge per line, shuffled",
        "\n".join(reversed(GOOD.split("; "))),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "chains",
        "x -> matmul#1 -> add#1 -> z -> phi -> h -> matmul#2 -> o -> l -> L -> add#2 -> J;"
        " W1 -> matmul#1; b1 -> add#1; W2 -> matmul#2; y -> l; W1 -> l2 -> s -> add#2; W2 -> l2",
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    ("with lambda into l2", GOOD + "; λ -> l2", 2.0, True, "Correct.", "correct"),
    (
        "JSON with squares and circles",
        json_graph(JSON_EDGES, JSON_LABELS, CIRCLES),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "JSON as a string",
        json.dumps(json_graph(JSON_EDGES, JSON_LABELS, CIRCLES)),
        2.0,
        True,
        "Correct.",
        "correct",
    ),
    (
        "regulariser drawn in full (equivalent)",
        edit(FINE_S),
        2.0,
        True,
        "computes z, h, o, L, s, J as the model does",
        "equivalent",
    ),
    (
        "sum re-associated, s not drawn",
        edit(
            (
                "W1 -> l2; W2 -> l2; l2 -> s; L -> add#2; s -> add#2; add#2 -> J",
                "lam -> (/ 2)#1 -> mul#1; W1 -> norm#1 -> (pow 2)#1 -> mul#1; "
                "lam -> (/ 2)#2 -> mul#2; W2 -> norm#2 -> (pow 2)#2 -> mul#2; "
                "L -> add#2; mul#1 -> add#2; add#2 -> add#3; mul#2 -> add#3; add#3 -> J",
            )
        ),
        1.68,
        False,
        "Your graph has no s",
        "missing-node:s",
    ),
    (
        "chapter graph without the bias",
        edit(("matmul#1 -> add#1; b1 -> add#1; add#1 -> z", "matmul#1 -> z")),
        1.47,
        False,
        "chapter's graph without the bias",
        "mistake:0",
    ),
    ("bias regularised", GOOD + "; b1 -> l2", 1.68, False, "not regularised", "mistake:1"),
    (
        "bias after the activation",
        edit(
            (
                "matmul#1 -> add#1; b1 -> add#1; add#1 -> z; z -> phi; phi -> h",
                "matmul#1 -> z; z -> phi; phi -> add#1; b1 -> add#1; add#1 -> h",
            )
        ),
        1.26,
        False,
        "before the activation",
        "mistake:2",
    ),
    (
        "bias on the output layer",
        edit(
            ("matmul#1 -> add#1; b1 -> add#1; add#1 -> z", "matmul#1 -> z"),
            ("matmul#2 -> o", "matmul#2 -> add#1; b1 -> add#1; add#1 -> o"),
        ),
        1.15,
        False,
        "belongs to the hidden layer",
        "mistake:3",
    ),
    (
        "missing edge b1 -> +",
        edit(("b1 -> add#1; ", ""), ("y -> l", "y -> l; b1 -> l2")),
        1.15,
        False,
        "b1 is not connected to the add that produces z",
        "wrong-step:z",
    ),
    (
        "missing input y",
        edit(("y -> l; ", "")),
        1.68,
        False,
        "y (a variable, drawn as a square)",
        "wrong-step:L",
    ),
    (
        "missing edge W2 -> l2",
        edit(("W2 -> l2; ", "")),
        1.68,
        False,
        "W2 is not connected to the norm that produces s",
        "wrong-step:s",
    ),
    (
        "extra edge W2 -> +",
        GOOD + "; W2 -> add#1",
        1.47,
        False,
        "The edge W2 → (add#1) does not belong",
        "wrong-step:z",
    ),
    (
        "extra edge x -> l",
        GOOD + "; x -> l",
        1.68,
        False,
        "The edge x → (l) does not belong",
        "wrong-step:L",
    ),
    (
        "reversed z and phi edges make a cycle",
        edit(("z -> phi; phi -> h", "phi -> z; z -> h; h -> phi")),
        None,
        False,
        "cycle",
        "invalid-graph",
    ),
    (
        "reversed edge h -> matmul#2",
        edit(("h -> matmul#2", "matmul#2 -> h")),
        1.36,
        False,
        "is reversed: the value flows from h to (matmul#2)",
        "reversed-edge",
    ),
    ("cycle J -> x", GOOD + "; J -> x", None, False, "has a cycle", "invalid-graph"),
    (
        "operator where a variable belongs",
        edit(("add#1 -> z; z -> phi", "add#1 -> (z); (z) -> phi")),
        1.89,
        False,
        "z is a variable: draw it as a square",
        "type:z",
    ),
    (
        "mislabelled operator",
        edit(("add#1", "mul#1")),
        1.47,
        False,
        "The mul that produces z should be add",
        "wrong-step:z",
    ),
    (
        "loss drawn as a variable",
        edit((" l;", " [l];"), ("l -> L", "[l] -> L")),
        1.89,
        False,
        "l is an operator: draw it as a circle",
        "type:l",
    ),
    (
        "stray variable",
        GOOD + "; u -> add#1",
        1.47,
        False,
        "u is not an input of this exercise",
        "wrong-step:z",
    ),
    (
        "isolated node",
        {"nodes": [{"id": "x", "label": "x", "type": "variable"}], "edges": []},
        None,
        False,
        "not connected to anything",
        "invalid-graph",
    ),
    (
        "operator without output",
        GOOD + "; h -> phi#2",
        None,
        False,
        "has no output",
        "invalid-graph",
    ),
]


@pytest.mark.parametrize(
    ("name", "answer", "score", "correct", "feedback", "diagnosis"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_drawn_graph(name, answer, score, correct, feedback, diagnosis):
    result = KIND.grade(PART, answer, GradingContext(SPEC, seed=7))
    assert feedback in result.feedback, result.feedback
    assert result.diagnosis == diagnosis, result.feedback
    assert result.correct is correct
    if score is None:
        assert result.status == "invalid" and result.score == 0
    else:
        assert result.status == "graded"
        assert result.score == pytest.approx(score), result.feedback
        assert result.max_score == 2.0


def test_at_least_25_drawings():
    assert len(CASES) >= 25


def test_partial_scores_rank_the_drawings():
    """A near miss scores more than the chapter graph, which scores more than little."""
    ctx = GradingContext(SPEC, seed=1)
    near = KIND.grade(PART, edit(("W2 -> l2; ", "")), ctx).score
    chapter = KIND.grade(PART, CASES[12][1], ctx).score
    little = KIND.grade(PART, "x -> matmul; W1 -> matmul; matmul -> z", ctx).score
    assert 2.0 > near > chapter > little >= 0
