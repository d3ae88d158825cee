"""A table of graph-bias drawings labelled from the chapter, graded at several seeds.

Each wrong drawing lists the steps it gets wrong and its faults; the expected score follows the
rule of docs/DESIGN.md section 6, computed here independently of the grader: the reference's
19 edges (λ optional) are split over the steps z 5, h 2, o 3, L 3, s 3, J 3; the score is
``2 × (19 − wrong steps' edges − faults) / 19``, rounded down to a hundredth, at most 1.9.
"""

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.catalog import load_files
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_files([ROOT / "exercises" / "graph-bias.yaml"])[0].spec
PART = SPEC.part("graph")
KIND = get_kind("graph")
SEEDS = (0, 7, 123, 2024)
WEIGHTS = {"z": 5, "h": 2, "o": 3, "L": 3, "s": 3, "J": 3}
TOTAL = sum(WEIGHTS.values())

GOOD = (
    "x -> matmul#1; W1 -> matmul#1; matmul#1 -> add#1; b1 -> add#1; add#1 -> z; "
    "z -> phi; phi -> h; h -> matmul#2; W2 -> matmul#2; matmul#2 -> o; o -> l; y -> l; "
    "l -> L; W1 -> l2; W2 -> l2; l2 -> s; L -> add#2; s -> add#2; add#2 -> J"
)
EDGES = [tuple(statement.split(" -> ")) for statement in GOOD.split("; ")]


def edit(*pairs: tuple[str, str], text: str = GOOD) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


def as_json(edges, labels=None, circles=None, rename=None) -> dict:
    """Return edges of text names as a JSON drawing; ``rename`` gives nodes other ids."""
    labels, rename = labels or {}, rename or {}
    ops = {"matmul#1", "matmul#2", "add#1", "add#2", "phi", "l", "l2"} | set(circles or ())
    ids = dict.fromkeys(end for edge in edges for end in edge)
    return {
        "nodes": [
            {
                "id": rename.get(i, i),
                "label": labels.get(i, i.split("#")[0]),
                "type": "circle" if i in ops else "square",
            }
            for i in ids
        ],
        "edges": [[rename.get(a, a), rename.get(b, b)] for a, b in edges],
    }


RENAMED = {
    name: f"n{index}"
    for index, name in enumerate(dict.fromkeys(end for edge in EDGES for end in edge))
}
W1_TWICE = as_json(
    [(a if (a, b) != ("W1", "l2") else "W1#copy", b) for a, b in EDGES],
    labels={"W1#copy": "W1"},
)
H_TWICE = as_json(
    [(a, b) for a, b in EDGES if (a, b) != ("h", "matmul#2")] + [("h#copy", "matmul#2")],
    labels={"h#copy": "h"},
)
Z_TWICE = as_json(
    [(a, b) for a, b in EDGES if (a, b) != ("z", "phi")] + [("z#copy", "phi")],
    labels={"z#copy": "z"},
)
REVERSED = "; ".join(f"{b} -> {a}" for a, b in EDGES)
NO_BIAS = edit(("matmul#1 -> add#1; b1 -> add#1; add#1 -> z", "matmul#1 -> z"))
FULL_S = "lam -> (/ 2) -> mul; W1 -> norm#1 -> (pow 2)#1 -> add#3; " + (
    "W2 -> norm#2 -> (pow 2)#2 -> add#3; add#3 -> mul -> s"
)

# (name, answer, correct, wrong steps, faults, diagnosis or None)
RIGHT = [
    ("plain", GOOD),
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
            (" l;", " ℓ;"),
            ("l -> L", "ℓ -> L"),
        ),
    ),
    ("brackets", edit(("x ->", "[x] ->"), ("matmul#1 ->", "(matmul#1) ->"), ("-> z;", "-> [z];"))),
    ("latex names", edit(("W1", "W^(1)"), ("W2", "W^{(2)}"), ("b1", "b_1"))),
    ("bold names", edit(("W1", "\\mathbf{W}_1"), ("x ->", "\\mathbf{x} ->"))),
    ("@ and *", edit(("matmul#1", "@#1"), ("matmul#2", "*#2"))),
    ("words", edit(("phi", "activation"), (" l;", " loss;"), ("l -> L", "loss -> L"))),
    ("reg for l2", edit(("l2", "reg"))),
    ("shuffled lines", "\n".join(reversed(GOOD.split("; ")))),
    (
        "chains",
        "x -> matmul#1 -> add#1 -> z -> phi -> h -> matmul#2 -> o -> l -> L -> add#2 -> J;"
        " W1 -> matmul#1; b1 -> add#1; W2 -> matmul#2; y -> l; W1 -> l2 -> s -> add#2; W2 -> l2",
    ),
    ("lambda into l2", GOOD + "; λ -> l2"),
    ("lam spelled lambda", GOOD + "; lambda -> l2"),
    ("JSON", as_json(EDGES, {"phi": "φ", "l": "ℓ", "l2": "ℓ2", "W1": "W^(1)"})),
    ("JSON with other ids", as_json(EDGES, rename=RENAMED)),
    ("regulariser in full", edit(("W1 -> l2; W2 -> l2; l2 -> s", FULL_S))),
    (
        "two l2 circles",
        edit(
            (
                "W1 -> l2; W2 -> l2; l2 -> s",
                "W1 -> l2#1; W2 -> l2#2; l2#1 -> add#3; l2#2 -> add#3; add#3 -> s",
            )
        ),
    ),
    (
        "s as sums of squares",
        edit(
            (
                "W1 -> l2; W2 -> l2; l2 -> s",
                "W1 -> (pow 2)#1 -> sum#1 -> add#3; W2 -> (pow 2)#2 -> sum#2 -> add#3; "
                "lam -> (/ 2) -> mul; add#3 -> mul -> s",
            )
        ),
    ),
    (
        "L through a norm",
        edit(("o -> l; y -> l; l -> L", "o -> sub; y -> sub; sub -> norm#3 -> (pow 2)#3 -> L")),
    ),
    (
        "L as (y - o) squared and summed",
        edit(("o -> l; y -> l; l -> L", "y -> sub; o -> sub; sub -> (pow 2)#3 -> sum#3 -> L")),
    ),
    ("named product box", edit(("matmul#1 -> add#1", "matmul#1 -> u; u -> add#1"))),
    (
        "bias first",
        edit(
            (
                "x -> matmul#1; W1 -> matmul#1; matmul#1 -> add#1; b1 -> add#1",
                "b1 -> add#1; matmul#1 -> add#1; W1 -> matmul#1; x -> matmul#1",
            )
        ),
    ),
]
WRONG = [
    ("no bias", NO_BIAS, {"z"}, 0, "mistake:0"),
    ("bias regularised", GOOD + "; b1 -> l2", {"s"}, 0, "mistake:1"),
    (
        "bias after phi",
        edit(
            (
                "matmul#1 -> add#1; b1 -> add#1; add#1 -> z; z -> phi; phi -> h",
                "matmul#1 -> z; z -> phi; phi -> add#1; b1 -> add#1; add#1 -> h",
            )
        ),
        {"z", "h"},
        0,
        "mistake:2",
    ),
    (
        "bias on the output",
        edit(
            ("matmul#1 -> add#1; b1 -> add#1; add#1 -> z", "matmul#1 -> z"),
            ("matmul#2 -> o", "matmul#2 -> add#1; b1 -> add#1; add#1 -> o"),
        ),
        {"z", "o"},
        0,
        "mistake:3",
    ),
    ("hadamard for W1 x", edit(("matmul#1", "⊙#1")), {"z"}, 0, "wrong-step:z"),
    ("hadamard for W2 h", edit(("matmul#2", "⊙#2")), {"o"}, 0, "wrong-step:o"),
    ("J = L times s", edit(("add#2", "mul#2")), {"J"}, 0, "wrong-step:J"),
    ("J = L minus s", edit(("add#2", "sub#2")), {"J"}, 0, "wrong-step:J"),
    ("tanh for phi", edit(("phi", "tanh")), {"h"}, 0, "wrong-step:h"),
    ("sigmoid for phi", edit(("phi", "sigmoid")), {"h"}, 0, "wrong-step:h"),
    ("mul for the bias add", edit(("add#1", "mul#1")), {"z"}, 0, "wrong-step:z"),
    ("no W2 into l2", edit(("W2 -> l2; ", "")), {"s"}, 0, "wrong-step:s"),
    (
        "no lambda/2 in a full regulariser",
        edit(
            (
                "W1 -> l2; W2 -> l2; l2 -> s",
                "W1 -> norm#1 -> (pow 2)#1 -> add#3; W2 -> norm#2 -> (pow 2)#2 -> add#3; "
                "add#3 -> s",
            )
        ),
        {"s"},
        0,
        "wrong-step:s",
    ),
    ("loss as a difference", edit((" l;", " sub;"), ("l -> L", "sub -> L")), {"L"}, 0, None),
    ("no y", edit(("y -> l; ", "")), {"L"}, 0, "wrong-step:L"),
    ("b1 into the product", edit(("b1 -> add#1", "b1 -> matmul#1")), {"z"}, 0, None),
    (
        "W1 and W2 swapped",
        edit(("W1 -> matmul#1", "W2 -> matmul#1"), ("W2 -> matmul#2", "W1 -> matmul#2")),
        {"z", "o"},
        0,
        None,
    ),
    ("extra edge W2 -> +", GOOD + "; W2 -> add#1", {"z"}, 0, "wrong-step:z"),
    ("extra edge x -> l", GOOD + "; x -> l", {"L"}, 0, "wrong-step:L"),
    ("stray input u", GOOD + "; u -> add#1", {"z"}, 0, "wrong-step:z"),
    ("b1 into J's sum", edit(("b1 -> add#1", "b1 -> add#2")), {"z", "J"}, 0, None),
    (
        "reversed edge into h's product",
        edit(("h -> matmul#2", "matmul#2 -> h")),
        {"h", "o"},
        1,
        "reversed-edge",
    ),
    ("every edge reversed", REVERSED, set(WEIGHTS), 0, "reversed-edge"),
    (
        "z drawn as a circle",
        edit(("add#1 -> z; z -> phi", "add#1 -> (z); (z) -> phi")),
        set(),
        1,
        "type:z",
    ),
    ("loss drawn as a square", edit((" l;", " [l];"), ("l -> L", "[l] -> L")), set(), 1, "type:l"),
    ("dead-end branch", GOOD + "; o -> sigmoid -> p", set(), 1, "dead-end:p"),
    ("branch after J", GOOD + "; J -> sigmoid -> p", set(), 1, "dead-end:p"),
    ("W1 drawn twice", W1_TWICE, set(), 1, "twice:W1"),
    ("h drawn twice", H_TWICE, {"h"}, 2, "twice:h"),
    ("z drawn twice", Z_TWICE, {"z"}, 2, "twice:z"),
    ("phi left out, chain broken", edit(("z -> phi; phi -> h; ", "")), {"h"}, 1, "not-computed:h"),
    ("an input computed", GOOD + "; x -> W1", set(), 1, "input-computed:W1"),
    (
        "unrelated edges between the right names",
        "x -> W1; W2 -> h; y -> o; b1 -> z; z -> matmul; h -> matmul; matmul -> J",
        set(WEIGHTS),
        3,
        None,
    ),
    ("L + s only", "L -> +; s -> +; + -> J", {"z", "h", "o", "L", "s"}, 0, None),
    (
        "no loss and no y",
        edit(("o -> l; y -> l; l -> L; ", ""), ("L -> add#2", "o -> add#2")),
        {"L", "J"},
        0,
        "missing-node:L",
    ),
    (
        "s not drawn",
        edit(
            (
                "W1 -> l2; W2 -> l2; l2 -> s; L -> add#2; s -> add#2; add#2 -> J",
                "lam -> (/ 2)#1 -> mul#1; W1 -> norm#1 -> (pow 2)#1 -> mul#1; "
                "lam -> (/ 2)#2 -> mul#2; W2 -> norm#2 -> (pow 2)#2 -> mul#2; "
                "L -> add#2; mul#1 -> add#2; add#2 -> add#3; mul#2 -> add#3; add#3 -> J",
            )
        ),
        {"s"},
        0,
        "missing-node:s",
    ),
    ("J from L alone", edit(("s -> add#2; ", "")), {"J"}, 1, None),
    ("J not drawn", edit(("; L -> add#2; s -> add#2; add#2 -> J", "")), {"J"}, 2, None),
    (
        "only z",
        "x -> matmul; W1 -> matmul; matmul -> add; b1 -> add; add -> z",
        {"h", "o", "L", "s", "J"},
        1,
        None,
    ),
]


def expected(wrong: set[str], faults: int) -> float:
    share = max(0.0, (TOTAL - sum(WEIGHTS[s] for s in wrong) - faults) / TOTAL)
    return math.floor(min(share, 0.95) * 2 * 100 + 1e-9) / 100


def test_table_size():
    assert len(RIGHT) + len(WRONG) >= 40
    assert len(WRONG) >= 28 and len(RIGHT) >= 12


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "answer"), RIGHT, ids=[row[0] for row in RIGHT])
def test_right_drawings_get_full_marks(name, answer, seed):
    result = KIND.grade(PART, answer, GradingContext(SPEC, seed=seed))
    assert result.correct and result.score == 2.0, result.feedback
    assert result.diagnosis in ("correct", "equivalent")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("name", "answer", "wrong", "faults", "diagnosis"), WRONG, ids=[row[0] for row in WRONG]
)
def test_wrong_drawings_follow_the_rule(name, answer, wrong, faults, diagnosis, seed):
    result = KIND.grade(PART, answer, GradingContext(SPEC, seed=seed))
    assert result.status == "graded", result.feedback
    assert not result.correct, result.feedback
    assert result.score == pytest.approx(expected(wrong, faults)), result.feedback
    counted = set(result.details["steps"])
    assert counted == set(WEIGHTS) - wrong, result.feedback
    if diagnosis is not None:
        assert result.diagnosis == diagnosis, result.feedback


def test_changed_computations_cost_more_than_a_little():
    """⊙ for a matrix product, J = L × s, a regularised b1, tanh for φ: each loses at least
    a tenth of the points; the no-bias and bias-after-φ mistakes are named."""
    rows = {row[0]: row for row in WRONG}
    for name in ("hadamard for W2 h", "J = L times s", "bias regularised", "tanh for phi"):
        result = KIND.grade(PART, rows[name][1], GradingContext(SPEC, seed=7))
        assert result.score <= 1.8, (name, result.score)
    for name, words in (("no bias", "without the bias"), ("bias after phi", "before the activ")):
        result = KIND.grade(PART, rows[name][1], GradingContext(SPEC, seed=7))
        assert words in result.feedback


def test_reversed_edges_are_said_to_be_reversed_once():
    result = KIND.grade(PART, REVERSED, GradingContext(SPEC, seed=7))
    assert result.feedback.startswith("All of your 19 edges are reversed"), result.feedback
    assert "is not connected to" not in result.feedback
    assert result.score == 0


def test_l_plus_s_alone_is_little():
    result = KIND.grade(PART, "L -> +; s -> +; + -> J", GradingContext(SPEC, seed=7))
    assert result.score <= 0.35
    assert "L and s are never computed" in result.feedback


REFERENCE = KIND.reference(PART, SPEC).json


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, len(REFERENCE["edges"]) - 1),
    seed=st.sampled_from(SEEDS),
    with_lam=st.booleans(),
)
def test_removing_any_reference_edge_loses_credit(cut, seed, with_lam):
    nodes = [n for n in REFERENCE["nodes"] if with_lam or n["label"] != "lam"]
    ids = {n["id"] for n in nodes}
    edges = [e for e in REFERENCE["edges"] if e[0] in ids and e[1] in ids]
    cut %= len(edges)
    drawing = {"nodes": nodes, "edges": edges[:cut] + edges[cut + 1 :]}
    result = KIND.grade(PART, drawing, GradingContext(SPEC, seed=seed))
    assert not result.correct and result.score < 2.0, result.feedback


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.sampled_from([n["id"] for n in REFERENCE["nodes"]]),
    label=st.sampled_from(["p", "z", "h", "W1", "J", "sigmoid", "+", "matmul"]),
    kind=st.sampled_from(["variable", "operator"]),
    seed=st.sampled_from(SEEDS),
)
def test_a_dead_end_never_keeps_full_credit(at, label, kind, seed):
    extra = [{"id": "dead-end", "label": label, "type": kind}]
    edges = [*REFERENCE["edges"], [at, "dead-end"]]
    if kind == "operator":  # an operator needs an output: a further dead-end variable
        extra.append({"id": "dead-end-2", "label": "p", "type": "variable"})
        edges.append(["dead-end", "dead-end-2"])
    drawing = {"nodes": REFERENCE["nodes"] + extra, "edges": edges}
    result = KIND.grade(PART, drawing, GradingContext(SPEC, seed=seed))
    assert not result.correct and result.score < 2.0, result.feedback


LABELS = [
    "x",
    "y",
    "W1",
    "b1",
    "W2",
    "lam",
    "z",
    "h",
    "o",
    "L",
    "s",
    "J",
    "u",
    "+",
    "×",
    "⊙",
    "φ",
    "l",
    "ℓ2",
    "pow 2",
    "/ 2",
    "sum",
    "tanh",
    "-",
    "norm",
    "mystery",
    "sigmoid",
    "pow 99",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    labels=st.lists(st.sampled_from(LABELS), min_size=2, max_size=14),
    pairs=st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13)), max_size=30),
    seed=st.sampled_from(SEEDS),
)
def test_any_drawing_gets_a_result_within_the_points(labels, pairs, seed):
    nodes = [{"id": f"n{i}", "label": label} for i, label in enumerate(labels)]
    edges = [[f"n{a}", f"n{b}"] for a, b in pairs if a < b < len(labels)]  # acyclic
    result = KIND.grade(PART, {"nodes": nodes, "edges": edges}, GradingContext(SPEC, seed=seed))
    assert result.status in ("graded", "invalid")
    assert 0 <= result.score <= 2.0 and result.feedback
    assert result.correct is (result.score == 2.0)


def test_removing_each_reference_edge_loses_credit_exhaustively():
    ctx = GradingContext(SPEC, seed=7)
    for with_lam in (True, False):
        nodes = [n for n in REFERENCE["nodes"] if with_lam or n["label"] != "lam"]
        ids = {n["id"] for n in nodes}
        edges = [e for e in REFERENCE["edges"] if e[0] in ids and e[1] in ids]
        assert KIND.grade(PART, {"nodes": nodes, "edges": edges}, ctx).correct
        for cut in range(len(edges)):
            drawing = {"nodes": nodes, "edges": edges[:cut] + edges[cut + 1 :]}
            result = KIND.grade(PART, drawing, ctx)
            assert not result.correct and result.score < 2.0, (edges[cut], result.feedback)
