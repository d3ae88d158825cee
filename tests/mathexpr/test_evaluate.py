"""Evaluation: values of the chapter's formulas, strict shapes, messages, limits."""

from __future__ import annotations

import numpy as np
import pytest

from grader.mathexpr import (
    FormulaError,
    FormulaLimitError,
    FormulaShapeError,
    Limits,
    Namespace,
    UnknownNameError,
    evaluate,
    parse,
)

from .conftest import FUNCTIONS, SIZES


def run(text: str, ns: Namespace, values: dict, **kwargs) -> np.ndarray:
    return evaluate(parse(text, ns), values, FUNCTIONS, sizes=SIZES, **kwargs)


def test_backward_pass_of_the_chapter(ns: Namespace, values: dict) -> None:
    v = values
    g = 2 * (v["o"] - v["y"])
    dz = (v["W2"].T @ g) * (1 - np.tanh(v["z"]) ** 2)
    expected = {
        "2(o - y)": g,
        "2(o - y) h^T + lam W2": g @ v["h"].T + v["lam"] * v["W2"],
        "W2^T (2(o − y)) ⊙ φ'(z)": dz,
        "(W2^T (2(o − y)) ⊙ φ'(z)) xᵀ + λ W1": dz @ v["x"].T + v["lam"] * v["W1"],
        "l(o, y) + lam/2 * (norm(W1)^2 + norm(W2)^2)": v["J"],
        "W1 @ x + b1": v["z"],
        "phi(z)": v["h"],
    }
    for text, value in expected.items():
        result = run(text, ns, v)
        assert result.shape == np.shape(value), text
        np.testing.assert_allclose(result, value, rtol=1e-12, err_msg=text)


def test_builtins(ns: Namespace, values: dict) -> None:
    v = values
    W1, z = v["W1"], v["z"]
    cases = {
        "sum(W1)": np.sum(W1),
        "sum(W1, 0)": W1.sum(axis=0, keepdims=True),
        "mean(W1, 1)": W1.mean(axis=1, keepdims=True),
        "diag(z)": np.diagflat(z),
        "diag(W1 W1^T)": np.diag(W1 @ W1.T).reshape(-1, 1),
        "outer(z, x)": z @ v["x"].T,
        "trace(W1 W1.T)": np.trace(W1 @ W1.T),
        "norm(z)": np.linalg.norm(z),
        "ones(h, 1) + 0 z": np.ones((5, 1)),
        "eye(d) @ x": v["x"],
        "sigmoid(z) + relu(z) - softplus(z)": 1 / (1 + np.exp(-z))
        + np.maximum(z, 0)
        - np.log1p(np.exp(z)),
        "sigmoid'(z)": np.exp(-z) / (1 + np.exp(-z)) ** 2,
        "exp(z) + abs(z) + sqrt(abs(z)) + log(abs(z))": np.exp(z)
        + np.abs(z)
        + np.sqrt(np.abs(z))
        + np.log(np.abs(z)),
        "prod(2(o - y), h)": 2 * (v["o"] - v["y"]) @ v["h"].T,
        "prod(2(o - y), W2)": v["W2"].T @ (2 * (v["o"] - v["y"])),
        "prod(W2.T 2(o - y), phi'(z))": (v["W2"].T @ (2 * (v["o"] - v["y"])))
        * (1 - np.tanh(z) ** 2),
        "z^-1": 1 / z,
    }
    for text, value in cases.items():
        np.testing.assert_allclose(run(text, ns, v), value, rtol=1e-12, err_msg=text)


def test_one_by_one_and_scalars(ns: Namespace, values: dict) -> None:
    v = values
    # x^T x is a 1×1 matrix, not a scalar: it does not scale a matrix by juxtaposition
    assert run("x^T x", ns, v).shape == (1, 1)
    with pytest.raises(FormulaShapeError):
        run("x^T x W1", ns, v)
    assert run("sum(x^T x) W1", ns, v).shape == (5, 3)
    assert run("lam", ns, v).shape == ()


SHAPE_ERRORS = [
    # (formula, column, message)
    ("W2 * (o - y)", 4, "`*` is elementwise: (q×h) with (q×1)"),
    ("W2.T * (o - y)", 6, "`*` is elementwise: (h×q) with (q×1); for a matrix product use @"),
    ("W2.T ⊙ (o - y)", 6, "`⊙` is elementwise: (h×q) with (q×1); for a matrix product use @"),
    (
        "W2 @ W1.T",
        4,
        "`@` is a matrix product: (q×h) times (d×h) needs the columns of the left (h) to "
        "match the rows of the right (d); did you mean to transpose the right side?",
    ),
    ("W2 h^T", 4, "the implicit product is a matrix product: (q×h) times (1×h)"),
    (
        "W1 + W1.T",
        4,
        "`+` needs two operands of the same shape: (h×d) and (d×h); one side may need a transpose",
    ),
    ("o - y.T", 3, "`-` needs two operands of the same shape: (q×1) and (1×q)"),
    ("z / x", 3, "`/` divides elementwise: (h×1) with (d×1)"),
    ("lam @ W1", 5, "needs two arrays, got a scalar and (h×d); to scale by a scalar use *"),
    ("trace(W1)", 1, "trace needs a square matrix, got (h×d)"),
    ("outer(W1, x)", 1, "outer needs two vectors"),
    ("diag(W1)", 1, "diag needs a vector or a square matrix"),
]


@pytest.mark.parametrize(
    ("text", "column", "message"), SHAPE_ERRORS, ids=[e[0] for e in SHAPE_ERRORS]
)
def test_shape_errors_name_operator_sizes_and_column(
    ns: Namespace, values: dict, text: str, column: int, message: str
) -> None:
    with pytest.raises(FormulaShapeError) as caught:
        run(text, ns, values)
    assert caught.value.column == column
    assert message in caught.value.message


def test_shape_messages_use_numbers_without_size_names(ns: Namespace, values: dict) -> None:
    with pytest.raises(FormulaShapeError, match=r"\(2×5\) with \(2×1\)"):
        evaluate(parse("W2 * o", ns), values, FUNCTIONS)


def test_loss_with_wrong_shapes_is_feedback(ns: Namespace, values: dict) -> None:
    with pytest.raises(FormulaShapeError, match="l cannot be applied to"):
        run("l(o, y.T)", ns, values)


def test_missing_values_and_functions(ns: Namespace, values: dict) -> None:
    partial = {k: values[k] for k in ("x", "W1")}
    with pytest.raises(UnknownNameError, match="`b1` has no value"):
        evaluate(parse("W1 x + b1", ns), partial)
    with pytest.raises(UnknownNameError, match="`grad` cannot be evaluated"):
        evaluate(parse("grad(J, b2)", ns), values, FUNCTIONS)
    with pytest.raises(UnknownNameError, match="phi'"):
        evaluate(parse("phi'(z)", ns), values, {"phi": np.tanh})
    result = evaluate(
        parse("phi'(z)", ns), values, {"phi": np.tanh, "phi'": lambda a: 1 - np.tanh(a) ** 2}
    )
    np.testing.assert_allclose(result, 1 - np.tanh(values["z"]) ** 2)


def test_caller_functions_get_arrays(ns: Namespace, values: dict) -> None:
    seen = []

    def grad(J: np.ndarray, b2: np.ndarray) -> np.ndarray:
        seen.append((J.shape, b2.shape))
        return np.zeros_like(b2)

    result = evaluate(parse("grad(J, b2)", ns), values, {"grad": grad})
    assert result.shape == (2, 1) and seen == [((), (2, 1))]


def test_values_are_coerced(ns: Namespace) -> None:
    values = {"x": [1.0, 2.0, 3.0], "lam": 2}
    result = evaluate(parse("lam x", ns), values)
    assert result.dtype == np.float64 and result.shape == (3, 1)
    with pytest.raises(ValueError, match="two dimensions"):
        evaluate(parse("x", ns), {"x": np.zeros((2, 2, 2))})


def test_size_limits(ns: Namespace, values: dict) -> None:
    with pytest.raises(FormulaError, match="whole numbers from 1 to 1000"):
        run("ones(10^9, 10^9)", ns, values)
    with pytest.raises(FormulaError, match="whole numbers"):
        run("ones(0)", ns, values)
    with pytest.raises(FormulaError, match="whole numbers"):
        run("eye(1.5)", ns, values)
    with pytest.raises(FormulaLimitError, match="array of 1,000,000"):
        run("ones(1000, 1000) + 0", ns, values, limits=Limits(max_elements=999_999))
    with pytest.raises(FormulaLimitError, match="too much arithmetic"):
        run("ones(1000, 1000) @ ones(1000, 1000)", ns, values)
    with pytest.raises(FormulaLimitError, match="too much memory"):
        run("ones(1000, 1000) + (ones(1000, 1000) + ones(1000, 1000))", ns, values)
    assert run("ones(1000, 1000) + 1", ns, values).shape == (1000, 1000)


def test_non_finite_results_are_returned_quietly(ns: Namespace, values: dict) -> None:
    result = run("((z/0)^9)^9", ns, values)
    assert not np.all(np.isfinite(result))
