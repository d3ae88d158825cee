"""The graph kind in general: parsing both forms, normalising labels, limits, load-time checks."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.catalog import CatalogError, parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.graph_parse import (
    MAX_EDGES,
    MAX_LABEL,
    MAX_NODES,
    GraphFormatError,
    operator_key,
    parse_graph,
    render_edge_list,
    variable_key,
)
from grader.kinds.registry import get_kind
from grader.kinds.spec import ExerciseSpec

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = yaml.safe_load((ROOT / "tests/fixtures/chapter-model.yaml").read_text())
KIND = get_kind("graph")


def spec_with(**part) -> ExerciseSpec:
    data = dict(FIXTURE, parts=[{"id": "g", "kind": "graph", **part}])
    return ExerciseSpec.model_validate(data)


@pytest.mark.parametrize(
    "label", ["W1", "W_1", "W^(1)", "W^{(1)}", "W₁", "W⁽¹⁾", "$W_1$", "\\mathbf{W}^{(1)}"]
)
def test_variable_spellings(label):
    assert variable_key(label) == "W1"


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("×", "matmul"),
        ("*", "matmul"),
        ("@", "matmul"),
        ("·", "matmul"),
        ("matmul", "matmul"),
        ("+", "add"),
        ("add", "add"),
        ("φ", "phi"),
        ("phi", "phi"),
        ("ℓ2", "norm"),
        ("l2", "norm"),
        ("norm", "norm"),
        ("l", "l"),
        ("loss", "l"),
        ("ℓ", "l"),
        ("⊙", "mul"),
        ("−", "sub"),
    ],
)
def test_operator_spellings(label, key):
    assert operator_key(label)[0] == key


@pytest.mark.parametrize(
    ("label", "key", "constant"),
    [
        ("pow 2", "pow", 2.0),
        ("^2", "pow", 2.0),
        ("/ 2", "div", 2.0),
        ("/2", "div", 2.0),
        ("* 0.5", "matmul", 0.5),
        ("pow", "pow", None),
    ],
)
def test_operator_constants(label, key, constant):
    assert operator_key(label) == (key, constant)


def test_text_and_json_give_the_same_graph():
    text = "[x] -> (matmul); [W] -> (matmul); (matmul) -> [z]"
    data = {
        "nodes": [
            {"id": "a", "label": "x", "type": "variable"},
            {"id": "b", "label": "W", "type": "square"},
            {"id": "c", "label": "×", "type": "circle"},
            {"id": "d", "label": "z"},
        ],
        "edges": [["a", "c"], ["b", "c"], ["c", "d"]],
    }
    one, two = parse_graph(text), parse_graph(data)
    assert sorted((n.type, n.key) for n in one.nodes.values()) == sorted(
        (n.type, n.key) for n in two.nodes.values()
    )
    assert len(one.edges) == len(two.edges) == 3


def test_numbered_operators_are_distinct_and_names_repeat():
    graph = parse_graph("a -> add#1; b -> add#1; add#1 -> c; c -> add#2; a -> add#2; add#2 -> d")
    assert sorted(n.id for n in graph.nodes.values() if n.type == "operator") == [
        "(add#1)",
        "(add#2)",
    ]
    assert len([n for n in graph.nodes.values() if n.key == "a"]) == 1


def test_exercise_names_are_variables_even_if_they_spell_operators():
    graph = parse_graph("l -> L", {"l": "l"})
    assert graph.nodes["l"].type == "variable"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "empty"),
        ("x y z", "not an edge"),
        ("x -> ", "not an edge"),
        ("{nodes: [}", "not valid JSON"),
        ({"nodes": "x", "edges": []}, "list `nodes`"),
        ({"nodes": [{"id": "a", "label": "a", "type": "hexagon"}], "edges": []}, "square"),
        ({"nodes": [{"id": "a", "label": "a"}], "edges": [["a", "b"]]}, "not a node id"),
        ({"nodes": [{"id": "a"}, {"id": "a"}], "edges": []}, "used twice"),
        ({"nodes": [{"id": "a"}], "edges": [["a"]]}, "pair"),
        (42, "JSON"),
        ("x -> " + "y" * (MAX_LABEL + 1), "longer than"),
        ("[x] -> (f); (x) -> y", "both as a variable"),
    ],
)
def test_unreadable_answers(answer, message):
    with pytest.raises(GraphFormatError, match=message):
        parse_graph(answer)


def test_size_limits():
    many = "; ".join(f"v{i} -> add#{i}" for i in range(MAX_NODES))
    with pytest.raises(GraphFormatError, match="too large"):
        parse_graph(many)
    nodes = [{"id": str(i)} for i in range(MAX_NODES + 1)]
    with pytest.raises(GraphFormatError, match="too large"):
        parse_graph({"nodes": nodes, "edges": []})
    with pytest.raises(GraphFormatError, match="too large"):
        parse_graph({"nodes": [{"id": "a"}], "edges": [["a", "a"]] * (MAX_EDGES + 1)})
    with pytest.raises(GraphFormatError, match="longer than"):
        parse_graph("a -> b; " * 5000)


def test_grade_refuses_unreadable_input_without_cost():
    spec = spec_with(collapse={"s": "l2"}, optional=["lam"])
    result = KIND.grade(spec.parts[0], "nonsense", GradingContext(spec, 1))
    assert result.status == "invalid" and "not an edge" in result.feedback


def test_reference_from_model_round_trips_through_text():
    spec = spec_with()
    reference = KIND.reference(spec.parts[0], spec)
    ctx = GradingContext(spec, 3)
    assert KIND.grade(spec.parts[0], reference.json, ctx).correct
    assert KIND.grade(spec.parts[0], render_edge_list(reference.json), ctx).correct


def test_fine_grained_reference_without_collapse():
    spec = spec_with()
    ops = sorted(
        n.key
        for n in KIND.reference(spec.parts[0], spec).graph.nodes.values()
        if n.type == "operator"
    )
    assert ops == [
        "add",
        "add",
        "add",
        "add",
        "div",
        "l",
        "matmul",
        "matmul",
        "mul",
        "norm",
        "norm",
        "phi",
        "pow",
        "pow",
    ]


def test_explicit_reference_graph():
    spec = spec_with(reference="a -> (add); b -> (add); (add) -> c")
    part = spec.parts[0]
    ctx = GradingContext(spec, 1)
    assert KIND.grade(part, "b -> + ; a -> +; + -> c", ctx).correct
    wrong = KIND.grade(part, "a -> (mul); b -> (mul); (mul) -> c", ctx)
    assert not wrong.correct and "should be add" in wrong.feedback


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"output": "nope"}, "not a model quantity"),
        ({"collapse": {"q": "l2"}}, "not a model quantity"),
        ({"collapse": {"s": "wibble"}}, "not an operator"),
        ({"optional": ["zz"]}, "not a variable"),
        ({"reference": "a -> b; b -> a"}, "cycle"),
        ({"mistakes": [{"answer": "x ->", "feedback": "f"}]}, "not an edge"),
    ],
)
def test_load_time_checks(part, message):
    text = yaml.safe_dump(
        dict(FIXTURE, parts=[{"id": "g", "kind": "graph", **part}]),
        allow_unicode=True,
        sort_keys=False,
    )
    with pytest.raises(CatalogError, match=message):
        parse_exercise(text, "x.yaml")


def test_a_mistake_equal_to_the_reference_is_refused():
    spec = spec_with()
    text = render_edge_list(KIND.reference(spec.parts[0], spec).json)
    data = dict(
        FIXTURE,
        parts=[{"id": "g", "kind": "graph", "mistakes": [{"answer": text, "feedback": "f"}]}],
    )
    with pytest.raises(CatalogError, match="this is the reference graph"):
        parse_exercise(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "x.yaml")


def test_private_fields_are_hidden():
    spec = spec_with(collapse={"s": "l2"})
    public = spec.public()["parts"][0]
    assert "reference" not in public and "collapse" not in public and "mistakes" not in public


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(19))))
def test_edge_order_does_not_matter(order):
    """Any order of the statements of the correct graph is still correct."""
    from tests.kinds.test_graph_bias import GOOD, PART, SPEC
    from tests.kinds.test_graph_bias import KIND as K

    statements = GOOD.split("; ")
    shuffled = "; ".join(statements[i] for i in order)
    assert K.grade(PART, shuffled, GradingContext(SPEC, 0)).correct


def test_edge_marks_name_extra_reversed_and_missing_edges_by_drawn_ids():
    from grader.kinds.graph_compare import edge_marks

    reference = parse_graph("x -> matmul; W -> matmul; matmul -> z; z -> phi -> h")
    drawn = parse_graph("x -> matmul; W -> z; matmul -> z; h -> phi; phi -> z")
    marks = edge_marks(drawn, reference)
    assert marks.extra == (("W", "z"),)
    assert set(marks.reversed) == {("h", "(phi)"), ("(phi)", "z")}
    assert marks.missing == (("W", "(matmul)"),)
    assert marks.missing_elsewhere == ()
    assert edge_marks(reference, reference) == type(marks)()
    partial = edge_marks(parse_graph("x -> matmul -> z"), reference)
    assert partial.missing_elsewhere == (
        "W → the matmul that produces z",
        "z → the phi that produces h",
        "the phi that produces h → h",
    )
