"""The chapter's model: the engine's gradients are the closed-form backward equations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grader.engine as E

ACT = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def draw(seed: int, d: int, h: int, q: int, n: int, loss: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((q, n))
    if loss == "cross_entropy":
        y = np.eye(q)[:, rng.integers(0, q, n)]  # one-hot columns
    return {
        "x": rng.standard_normal((d, n)),
        "y": y,
        "W1": rng.standard_normal((h, d)),
        "b1": rng.standard_normal((h, 1)),
        "W2": rng.standard_normal((q, h)),
        "b2": rng.standard_normal((q, 1)),
        "lam": rng.uniform(0.1, 1.0),
    }


def closed_form(v: dict, phi: str, loss: str, bias: bool) -> dict[str, np.ndarray]:
    """DESIGN section 1, written out with numpy; batches sum the bias gradients over columns."""
    f, df = ACT[phi]
    b1 = v["b1"] if bias else 0.0
    b2 = v["b2"] if bias else 0.0
    z = v["W1"] @ v["x"] + b1
    h = f(z)
    o = v["W2"] @ h + b2
    if loss == "squared":
        dJ_do = 2 * (o - v["y"])
        L = np.sum((o - v["y"]) ** 2)
    else:
        p = np.exp(o - o.max(0)) / np.exp(o - o.max(0)).sum(0)
        dJ_do = p - v["y"]
        L = -np.sum(v["y"] * np.log(p))
    lam = v["lam"]
    dJ_dh = v["W2"].T @ dJ_do
    dJ_dz = dJ_dh * df(z)
    return {
        "z": z,
        "h": h,
        "o": o,
        "J": L + lam / 2 * (np.sum(v["W1"] ** 2) + np.sum(v["W2"] ** 2)),
        "dJ_do": dJ_do,
        "dJ_db2": dJ_do.sum(axis=1, keepdims=True),
        "dJ_dW2": dJ_do @ h.T + lam * v["W2"],
        "dJ_dh": dJ_dh,
        "dJ_dz": dJ_dz,
        "dJ_db1": dJ_dz.sum(axis=1, keepdims=True),
        "dJ_dW1": dJ_dz @ v["x"].T + lam * v["W1"],
    }


@pytest.mark.parametrize("phi", sorted(ACT))
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
@pytest.mark.parametrize("bias", [True, False])
@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(2, 7),
    h=st.integers(2, 7),
    q=st.integers(2, 7),
    n=st.integers(1, 4),
)
def test_backward_is_the_chapters_closed_form(
    phi: str, loss: str, bias: bool, seed: int, d: int, h: int, q: int, n: int
) -> None:
    v = draw(seed, d, h, q, n, loss)
    model = E.chapter_model(**v, phi=phi, loss=loss, bias=bias)
    want = closed_form(v, phi, loss, bias)
    for name in ("z", "h", "o", "J"):
        np.testing.assert_allclose(model[name].value, want[name], rtol=1e-12, atol=1e-12)
    names = ["o", "h", "z", "W2", "W1"] + (["b2", "b1"] if bias else [])
    got = E.grad(model["J"], [model[k] for k in names])
    for name, g in zip(names, got, strict=True):
        np.testing.assert_allclose(g, want[f"dJ_d{name}"], rtol=1e-10, atol=1e-10, err_msg=name)


def test_vector_inputs_are_columns_and_gradients_keep_parameter_shapes() -> None:
    v = draw(3, 4, 3, 2, 1, "squared")
    model = E.chapter_model(v["x"].ravel(), v["y"].ravel(), v["W1"], v["b1"].ravel(),
                            v["W2"], v["b2"].ravel(), v["lam"])  # fmt: skip
    grads = model.gradients()
    assert {k: g.shape for k, g in grads.items()} == {
        "W1": (3, 4), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1)
    }  # fmt: skip
    want = closed_form(v, "tanh", "squared", True)
    np.testing.assert_allclose(grads["b1"], want["dJ_db1"], rtol=1e-12)


def test_ops_table_builds_the_yaml_model_by_name() -> None:
    v = draw(5, 3, 4, 2, 1, "squared")
    ops = E.ops_table(phi="sigmoid")
    leaves = {k: E.leaf(a, k) for k, a in v.items()}
    z = ops["add"](ops["matmul"](leaves["W1"], leaves["x"]), leaves["b1"]).named("z")
    h = ops["phi"](z).named("h")
    o = ops["add"](ops["matmul"](leaves["W2"], h), leaves["b2"]).named("o")
    L = ops["l"](o, leaves["y"]).named("L")
    norms = ops["add"](ops["pow"](ops["norm"](leaves["W1"]), 2),
                       ops["pow"](ops["norm"](leaves["W2"]), 2))  # fmt: skip
    s = ops["mul"](ops["div"](leaves["lam"], 2), norms).named("s")
    J = ops["add"](L, s).named("J")
    reference = E.chapter_model(**v, phi="sigmoid")
    assert J.value == pytest.approx(reference["J"].value, rel=1e-14)
    np.testing.assert_allclose(E.grad(J, z), E.grad(reference["J"], reference["z"]), rtol=1e-13)
    mine, theirs = E.computational_graph(J), E.computational_graph(reference["J"])
    assert sorted(map(str, mine["nodes"])) == sorted(map(str, theirs["nodes"]))
    assert sorted(mine["edges"]) == sorted(theirs["edges"])
