"""Hessians, Jacobians and the cost report, on the chapter's model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grader.engine as E
from tests.engine.fd import directional
from tests.engine.test_chapter import draw


def model(seed: int = 0, n: int = 3, phi: str = "tanh", loss: str = "squared") -> E.Model:
    return E.chapter_model(**draw(seed, 4, 3, 2, n, loss), phi=phi, loss=loss)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))
def test_hessian_in_b2_is_2n_identity_for_the_squared_loss(seed: int, n: int) -> None:
    m = model(seed, n)
    np.testing.assert_allclose(E.hessian(m["J"], m["b2"]), 2 * n * np.eye(2), atol=1e-12)


@pytest.mark.parametrize("phi", sorted(E.ACTIVATIONS))
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_hessian_is_symmetric_and_matches_finite_differences(phi: str, loss: str) -> None:
    v = draw(7, 3, 3, 2, 2, loss)
    m = E.chapter_model(**v, phi=phi, loss=loss)
    H = E.hessian(m["J"], [m["W1"], m["b1"]])
    assert H.shape == (12, 12)
    np.testing.assert_allclose(H, H.T, atol=1e-10)

    def gradient(arrays: list[np.ndarray]) -> np.ndarray:
        m2 = E.chapter_model(**{**v, "W1": arrays[0], "b1": arrays[1]}, phi=phi, loss=loss)
        return np.concatenate([g.ravel() for g in E.grad(m2["J"], [m2["W1"], m2["b1"]])])

    for j in range(12):  # column j: row-major unit vector over (W1, b1)
        unit = np.zeros(12)
        unit[j] = 1
        tangents = [unit[:9].reshape(3, 3), unit[9:].reshape(3, 1)]
        want = directional(gradient, [v["W1"], v["b1"]], tangents, eps=1e-5)
        np.testing.assert_allclose(H[:, j], want, rtol=1e-4, atol=1e-5)


def test_hessian_of_an_intermediate_and_the_row_major_layout() -> None:
    W = E.leaf(np.arange(6.0).reshape(2, 3) / 10, "W")
    J = E.sum(W * W * E.const(np.array([[1.0, 2, 3], [4, 5, 6]])))
    H = E.hessian(J, W)  # d²/dW² of sum(c ⊙ W²) is diag(2c) in row-major order
    np.testing.assert_allclose(H, np.diag(2 * np.array([1.0, 2, 3, 4, 5, 6])))
    m = model()
    Hz = E.hessian(m["J"], m["z"])  # z treated as the variable; L depends on z only
    assert Hz.shape == (9, 9)
    np.testing.assert_allclose(Hz, Hz.T, atol=1e-10)


def test_jacobian_of_the_hidden_layer() -> None:
    m = model(n=1)
    Jac = E.jacobian(m["h"], m["z"])  # dh/dz = diag(phi'(z))
    np.testing.assert_allclose(Jac, np.diag(1 - np.tanh(m["z"].value.ravel()) ** 2), atol=1e-14)
    assert E.jacobian(m["o"], m["W2"]).shape == (2, 6)


def test_cost_report_orders_the_passes() -> None:
    m = model(n=8)
    report = E.costs(m["J"], m.parameters(), hessian_limit=10)
    assert report.forward.ops == sum(1 for t in E.ancestors([m["J"]]) if not t.is_leaf)
    assert report.forward.by_op["matmul"] == 2
    # reverse mode costs a small constant times the forward pass; second order a bit more
    assert 1.0 < report.ratio("backward") < 4.0
    assert report.ratio("backward") < report.ratio("hvp") < 8.0
    assert report.hessian is None  # 23 parameters > hessian_limit
    full = E.costs(m["J"], m.parameters()).hessian
    assert full is not None  # one recorded backward, then one forward-mode pass per column
    assert 23 * (report.hvp.ops - report.backward.ops) < full.ops < 23 * report.hvp.ops


def test_counting_counts_every_op_once() -> None:
    a = E.leaf(np.ones((2, 3)), "a")
    with E.counting() as c:
        b = E.tanh(a) * 2.0 + 1.0
        E.grad(E.sum(b), a)
    assert c.by_op["tanh"] == 1 and c.by_op["matmul"] == 0
    assert c.ops == sum(c.by_op.values())
