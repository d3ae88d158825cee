"""The computational graph of the chapter's model, as the figure draws it."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import grader.engine as E
from tests.engine.test_chapter import draw

# The chapter's figure with a bias on both layers: (from, to) by label; operators in capitals
# are distinguished by an index because several operators share a label.
WITH_BIAS = [
    ("W1", "matmul1"), ("x", "matmul1"), ("matmul1", "add1"), ("b1", "add1"), ("add1", "z"),
    ("z", "phi"), ("phi", "h"),
    ("W2", "matmul2"), ("h", "matmul2"), ("matmul2", "add2"), ("b2", "add2"), ("add2", "o"),
    ("o", "l"), ("y", "l"), ("l", "L"),
    ("W1", "norm1"), ("norm1", "pow1"), ("W2", "norm2"), ("norm2", "pow2"),
    ("pow1", "add3"), ("pow2", "add3"), ("lam", "div"), ("div", "mul"), ("add3", "mul"),
    ("mul", "s"), ("L", "add4"), ("s", "add4"), ("add4", "J"),
]  # fmt: skip
OPERATORS = {"matmul", "add", "phi", "l", "norm", "pow", "div", "mul"}


def as_networkx(graph: dict) -> nx.DiGraph:
    g = nx.DiGraph()
    for node in graph["nodes"]:
        g.add_node(node["id"], label=node["label"], type=node["type"])
    g.add_edges_from(map(tuple, graph["edges"]))
    return g


def expected(edges: list[tuple[str, str]]) -> nx.DiGraph:
    g = nx.DiGraph()
    for a, b in edges:
        for name in (a, b):
            label = name.rstrip("0123456789")
            kind = "operator" if label in OPERATORS else "variable"
            g.add_node(name, label=label if kind == "operator" else name, type=kind)
        g.add_edge(a, b)
    return g


def match(a: dict, b: dict) -> bool:
    return a["label"] == b["label"] and a["type"] == b["type"]


@pytest.mark.parametrize("n", [1, 3])
def test_chapter_graph_with_biases_is_the_figure(n: int) -> None:
    m = E.chapter_model(**draw(0, 3, 4, 2, n, "squared"))
    graph = E.computational_graph(m["J"])
    assert nx.is_isomorphic(as_networkx(graph), expected(WITH_BIAS), node_match=match)


def test_chapter_graph_without_biases() -> None:
    v = draw(0, 3, 4, 2, 1, "squared")
    m = E.chapter_model(**v, bias=False)
    edges = [e for e in WITH_BIAS if "b1" not in e and "b2" not in e]
    renamed = {("add1", "z"): ("matmul1", "z"), ("add2", "o"): ("matmul2", "o")}
    dropped = {("matmul1", "add1"), ("matmul2", "add2")}
    edges = [renamed.get(e, e) for e in edges if e not in dropped]
    graph = E.computational_graph(m["J"])
    assert nx.is_isomorphic(as_networkx(graph), expected(edges), node_match=match)


def test_node_ids_are_unique_and_edges_refer_to_nodes() -> None:
    m = E.chapter_model(**draw(0, 3, 4, 2, 1, "cross_entropy"), loss="cross_entropy")
    graph = E.computational_graph(m["J"])
    ids = [node["id"] for node in graph["nodes"]]
    assert len(ids) == len(set(ids))
    assert all(a in ids and b in ids for a, b in graph["edges"])
    assert {node["label"] for node in graph["nodes"] if node["type"] == "operator"} == OPERATORS
    assert set(graph["nodes"][0]) == {"id", "label", "type"}


def test_constants_are_omitted_and_repeated_inputs_give_one_edge() -> None:
    x = E.leaf(np.ones((2, 1)), "x")
    graph = E.computational_graph((x * x + 3.0).named("u"))
    assert [n["label"] for n in graph["nodes"]] == ["x", "mul", "add", "u"]
    assert graph["edges"] == [["x", "mul_1"], ["mul_1", "add_1"], ["add_1", "u"]]
    ones = E.computational_graph(E.leaf(np.ones((1, 2)), "r") @ E.ones(2, 3))
    assert {"label": "ones", "type": "variable", "id": "ones"} in ones["nodes"]


def test_dot_draws_variables_as_boxes_and_operators_as_circles() -> None:
    m = E.chapter_model(**draw(0, 3, 4, 2, 1, "squared"))
    dot = E.to_dot(m["J"])
    assert dot.startswith('digraph "model" {')
    assert '"W1" [shape=box, label="W1"];' in dot
    assert '"phi_1" [shape=circle, label="phi"];' in dot
    assert 'label="div 2"' in dot and 'label="pow 2"' in dot  # constants shown in DOT only
    assert '"z" -> "phi_1";' in dot
    assert dot.count("->") == len(E.computational_graph(m["J"])["edges"])


def test_a_second_name_adds_an_id_operator() -> None:
    a = E.leaf(np.ones((2, 1)), "a")
    b = E.tanh(a).named("b")
    c = b.named("c")
    assert c is not b and c.name == "c" and b.name == "b"
    labels = [n["label"] for n in E.computational_graph(c)["nodes"]]
    assert labels == ["a", "tanh", "b", "id", "c"]
