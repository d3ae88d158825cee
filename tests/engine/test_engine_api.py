"""Conventions and errors: scalars, columns, strict shapes, unknown ops, long chains."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import grader.engine as E


def test_shapes_follow_the_column_convention() -> None:
    assert E.Tensor([1.0, 2.0, 3.0]).shape == (3, 1)
    assert E.Tensor(2.5).shape == ()
    assert E.sum(E.Tensor(np.ones((2, 3)))).shape == ()
    assert E.sum(E.Tensor(np.ones((2, 3))), 0).shape == (1, 3)
    assert E.mean(E.Tensor(np.ones((2, 3))), 1).shape == (2, 1)
    with pytest.raises(E.EngineShapeError, match="at most two axes"):
        E.Tensor(np.ones((2, 2, 2)))


def test_elementwise_ops_do_not_broadcast() -> None:
    col, row = E.Tensor(np.ones((3, 1))), E.Tensor(np.ones((1, 3)))
    with pytest.raises(E.EngineShapeError, match=r"\(3×1\) and \(1×3\)"):
        col + row
    with pytest.raises(ValueError, match="for a matrix product use matmul"):
        E.Tensor(np.ones((2, 3))) * E.Tensor(np.ones((3, 1)))
    with pytest.raises(E.EngineShapeError):  # a 1×1 matrix is not a scalar
        E.Tensor(np.ones((1, 1))) * col
    assert (E.scalar(E.Tensor(np.ones((1, 1)))) * col).shape == (3, 1)
    assert (2.0 * col - 1).shape == (3, 1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: E.Tensor(np.ones((2, 3))) @ E.Tensor(np.ones((2, 3))), "inner sizes differ"),
        (lambda: E.Tensor(np.ones((2, 3))) @ E.Tensor(2.0), "to scale by a scalar use"),
        (lambda: E.diag(E.Tensor(np.ones((2, 3)))), "diag takes"),
        (lambda: E.outer(E.Tensor(np.ones((2, 2))), E.Tensor(np.ones((2, 1)))), "two columns"),
        (lambda: E.trace(E.Tensor(np.ones((2, 3)))), "square"),
        (lambda: E.l(E.Tensor(np.ones((2, 1))), E.Tensor(np.ones((3, 1)))), "o is"),
        (lambda: E.add_bias(E.Tensor(np.ones((2, 3))), E.Tensor(np.ones((3, 1)))), "column"),
        (lambda: E.sum(E.Tensor(2.0), 0), "no axis"),
        (lambda: E.penalty(E.Tensor(np.ones((2, 1))), E.Tensor(np.ones((2, 2)))), "scalar"),
    ],
)
def test_shape_errors_say_what_is_wrong(build, message: str) -> None:
    with pytest.raises(E.EngineShapeError, match=message):
        build()


def test_other_errors() -> None:
    x = E.leaf(np.ones((2, 1)), "x")
    with pytest.raises(E.EngineShapeError, match="scalar function"):
        E.grad(x * 2.0, x)
    with pytest.raises(E.EngineError, match="constant number"):
        E.pow(x, E.leaf(2.0, "p"))
    with pytest.raises(E.EngineError, match="phi is bound to one of"):
        E.phi(x, "swish")
    with pytest.raises(E.EngineError, match="the loss is one of"):
        E.ops_table(loss="hinge")
    with pytest.raises(E.EngineError, match="axis is None, 0"):
        E.sum(x, 2)
    with pytest.raises(E.EngineError, match="method"):
        E.hvp(E.sum(x * x), x, np.ones((2, 1)), method="sideways")
    with pytest.raises(E.EngineShapeError, match="tangent for x"):
        E.jvp(x * 2.0, x, np.ones((3, 1)))


def test_unknown_op_names_list_the_known_ones() -> None:
    with pytest.raises(E.UnsupportedOpError, match="no operation 'softsign'.*matmul") as info:
        E.OPS["softsign"]
    assert isinstance(info.value, KeyError)
    assert "phi" in E.OPS and len(E.OPS) == len(list(E.OPS))


def test_bound_table_binds_phi_dphi_and_the_loss() -> None:
    z = E.leaf(np.array([[0.3], [-1.2]]), "z")
    ops = E.ops_table(phi="sigmoid", loss="cross_entropy")
    np.testing.assert_allclose(ops["phi"](z).value, 1 / (1 + np.exp(-z.value)))
    assert ops["phi"](z).attrs["fn"] == "sigmoid" and ops["dphi"](z).op == "dphi"
    assert ops["l"](z, E.const(np.array([[1.0], [0.0]]))).op == "cross_entropy"
    assert E.OPS["l"] is E.squared_loss


def test_constants_and_builders() -> None:
    np.testing.assert_array_equal(E.eye(3).value, np.eye(3))
    np.testing.assert_array_equal(E.ones(2).value, np.ones((2, 1)))
    assert E.const(4).shape == () and E.const(4).is_constant
    with pytest.raises(E.EngineError, match="positive whole number"):
        E.ones(0)
    W = E.leaf(np.arange(4.0).reshape(2, 2), "W")
    assert E.grad(E.trace(W @ E.eye(2)), W).tolist() == np.eye(2).tolist()


def test_gradient_with_respect_to_an_unused_node_is_zero() -> None:
    a, b = E.leaf(np.ones((2, 1)), "a"), E.leaf(np.ones((3, 1)), "b")
    assert E.grad(E.sum(a * a), b).tolist() == [[0.0]] * 3
    assert E.jvp(E.sum(a * a), b, np.ones((3, 1))).tolist() == 0.0


def test_a_10000_op_chain_needs_no_recursion() -> None:
    x = E.leaf(np.array([[0.5], [-0.25]]), "x")
    t = x
    for i in range(10_000):
        t = E.tanh(t) if i % 2 else t * 1.0001
    J = E.sum(t)
    g = E.grad(J, x)
    assert g.shape == (2, 1) and np.all(np.isfinite(g))
    np.testing.assert_allclose(E.jvp(J, x, np.array([[1.0], [0.0]])), g[0, 0], rtol=1e-10)
    np.testing.assert_allclose(E.hvp(J, x, np.ones((2, 1))).shape, (2, 1))
    assert len(E.computational_graph(J)["nodes"]) == 10_002
    assert E.training_memory(J, [x]).total > 0


def test_engine_imports_no_web_or_database_code() -> None:
    # grader/__init__.py builds the Flask app, so check the engine's own import statements
    forbidden = {"flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug", "grader.models"}
    package = pathlib.Path(E.__file__).parent
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in forbidden and name not in forbidden, source
                assert not name.startswith("grader.") or name.startswith("grader.engine"), source


def test_results_are_float64_copies() -> None:
    raw = np.array([[1.0], [2.0]])
    x = E.leaf(raw, "x")
    raw[0, 0] = 99.0
    assert x.value[0, 0] == 1.0 and x.value.dtype == np.float64
    g = E.grad(E.sum(x * x), x)
    g[0, 0] = -1
    assert E.grad(E.sum(x * x), x)[0, 0] == 2.0
