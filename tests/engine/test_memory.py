"""Memory accounting of the chapter's model against a hand derivation."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import grader.engine as E
from tests.engine.test_chapter import draw

d, h, q, n = sympy.symbols("d h q n", positive=True, integer=True)
SIZES = {"d": 5, "h": 4, "q": 3, "n": 2}


def model(bias: bool = True, loss: str = "squared", phi: str = "tanh") -> E.Model:
    return E.chapter_model(**draw(1, *SIZES.values(), loss), bias=bias, loss=loss, phi=phi)


def at_sizes(expr: sympy.Expr) -> int:
    return int(expr.subs({d: 5, h: 4, q: 3, n: 2}))


@pytest.mark.parametrize("phi", sorted(E.ACTIVATIONS))
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_training_footprint_term_by_term(phi: str, loss: str) -> None:
    m = model(loss=loss, phi=phi)
    report = E.training_memory(m["J"], m.parameters())
    # parameters and their gradients: 2(hd + h + qh + q); the backward reads x (for dJ/dW1),
    # z (for phi'(z)), h (for dJ/dW2), o and y (for the loss's derivative)
    params = h * d + h + q * h + q
    assert sympy.expand(report.sym_total - (2 * params + d * n + 2 * h * n + 2 * q * n)) == 0
    assert report.total == at_sizes(report.sym_total) == 2 * 39 + 10 + 16 + 12
    assert report.names("saved") == ["x", "y", "z", "h", "o"]
    assert report.names("gradient") == ["dJ/dW1", "dJ/db1", "dJ/dW2", "dJ/db2"]
    saved = {i.name: i for i in report.items if i.category == "saved"}
    assert saved["z"].sym_floats == h * n and "phi" in saved["z"].why
    assert saved["h"].sym_shape == (h, n) and "dJ/dW2" in saved["h"].why
    assert "dJ/dW1" in saved["x"].why
    assert any("norm(W1)" in text for text in report.ignored)  # scalars are listed, not counted


def test_training_footprint_without_biases() -> None:
    m = model(bias=False)
    report = E.training_memory(m["J"], m.parameters())
    want = 2 * (h * d + q * h) + d * n + 2 * h * n + 2 * q * n
    assert sympy.expand(report.sym_total - want) == 0
    assert report.total == at_sizes(want)


def test_prediction_footprint_is_parameters_plus_the_live_peak() -> None:
    m = model()
    report = E.prediction_memory(m["o"], m.parameters())
    params = h * d + h + q * h + q
    peaks = {d * n + h * n, 2 * h * n, h * n + q * n, 2 * q * n}
    assert report.sym_total == params + sympy.Max(*peaks)
    assert [s["live"] for s in report.steps] == [
        ["x", "W1 @ x"],
        ["W1 @ x", "z"],
        ["z", "h"],
        ["h", "W2 @ h"],
        ["W2 @ h", "o"],
    ]
    assert report.total == at_sizes(report.sym_total) == 39 + (5 * 2 + 4 * 2)
    assert [i.name for i in report.peak_items] == ["x", "W1 @ x"]
    live = {name for step in report.steps for name in step["live"]}
    assert "y" not in live and "L" not in live  # prediction needs neither target nor loss


def test_prediction_without_biases_names_the_results() -> None:
    m = model(bias=False)
    report = E.prediction_memory(m["o"], m.parameters())
    assert report.sym_total == h * d + q * h + sympy.Max(d * n + h * n, 2 * h * n, h * n + q * n)


def test_numeric_only_leaves_count_their_shapes() -> None:
    W = E.leaf(np.ones((3, 2)), "W")
    x = E.leaf(np.ones((2, 4)), "x")
    J = E.sum(E.tanh(W @ x))
    report = E.training_memory(J, [W])
    assert report.total == 2 * 6 + 8 + 12  # W, dJ/dW, x (for dJ/dW), tanh's output
    assert report.names("saved") == ["x", "tanh(W @ x)"]
    assert report.sym_total == report.total


def test_report_serialises_to_json_types() -> None:
    m = model()
    data = E.training_memory(m["J"], m.parameters()).as_dict()
    assert data["items"][0] == {
        "name": "W1",
        "category": "parameter",
        "shape": [4, 5],
        "sym_shape": ["h", "d"],
        "floats": 20,
        "sym_floats": "d*h",
        "why": "a parameter of the model",
    }
    assert isinstance(data["sym_total"], str)


def test_saved_reads_lists_what_each_rule_reads() -> None:
    m = model()
    reads = {(op.op, t.label) for op, _, t in E.saved_reads(m["J"], [m["W1"]])}
    assert ("matmul", "x") in reads and ("phi", "z") in reads and ("matmul", "W2") in reads
    assert ("matmul", "h") not in reads  # dJ/dW2 is not asked for


def test_totals_evaluate_at_named_sizes_and_items_explain_themselves() -> None:
    m = model()
    training = E.training_memory(m["J"], m.parameters())
    assert training.at({"d": 784, "h": 256, "q": 10, "n": 1}) == (
        2 * (256 * 784 + 256 + 10 * 256 + 10) + 784 + 2 * 256 + 2 * 10
    )
    with pytest.raises(E.EngineError, match="no size given for n"):
        training.at({"d": 1, "h": 1, "q": 1})
    z = next(i for i in training.items if i.name == "z")
    assert z.explain() == "z (h×n) is kept because the backward of phi reads it to get dJ/dz"
    assert E.size_symbol("h") in z.sym_floats.free_symbols
    prediction = E.prediction_memory(m["o"], m.parameters())
    assert prediction.at({"d": 784, "h": 256, "q": 10, "n": 1}) == (
        256 * 784 + 256 + 10 * 256 + 10 + 784 + 256
    )
    assert prediction.peak_items[0].explain().startswith("x (d×n) is kept because it is live")
