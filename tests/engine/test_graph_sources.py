"""traced_graph: the graph JSON plus where each tensor is drawn."""

import numpy as np

import grader.engine as E


def test_each_tensor_maps_to_its_node() -> None:
    m = E.chapter_model(
        np.ones(2), np.ones(2), np.ones((3, 2)), np.ones(3), np.ones((2, 3)), np.ones(2), 0.1
    )
    graph, source, operator = E.traced_graph(m["J"])
    assert graph == E.computational_graph(m["J"])
    ids = {n["id"] for n in graph["nodes"]}
    assert source[m["z"].id] == "z" and source[m["W1"].id] == "W1"
    assert operator[m["z"].id] in ids and operator[m["z"].id].startswith("add")
    product = m["z"].parents[0]  # W1 x, unnamed: drawn as its operator
    assert source[product.id] == operator[product.id] == "matmul_1"
    assert m["W1"].id not in operator
