"""Translation into the reference engine: the chapter's YAML model, references, errors."""

from __future__ import annotations

import numpy as np
import pytest

from grader import engine
from grader.mathexpr import (
    FormulaError,
    FormulaShapeError,
    ModelFormulaError,
    Namespace,
    UnknownNameError,
    build_model,
    evaluate,
    parse,
    to_engine,
)

from .conftest import SIZES, chapter_values

MODEL = {
    "z": "W1 @ x + b1",
    "h": "phi(z)",
    "o": "W2 @ h + b2",
    "L": "l(o, y)",
    "s": "lam/2 * (norm(W1)^2 + norm(W2)^2)",
    "J": "L + s",
}
INPUTS = ("x", "y", "W1", "b1", "W2", "b2", "lam")
SYMBOLS = {"x": ("d", 1), "y": ("q", 1), "W1": ("h", "d"), "b1": ("h", 1), "W2": ("q", "h")}
SYMBOLS |= {"b2": ("q", 1), "lam": ()}


def chapter(phi: str, seed: int = 3) -> tuple[engine.Model, dict]:
    arrays = {k: v for k, v in chapter_values(np.random.default_rng(seed)).items() if k in INPUTS}
    leaves = {k: engine.leaf(v, k, SYMBOLS[k]) for k, v in arrays.items()}
    model = build_model(
        MODEL, leaves, ops=engine.ops_table(phi=phi), sizes=SIZES, params=("W1", "b1", "W2", "b2")
    )
    return model, arrays


@pytest.mark.parametrize("phi", ["tanh", "sigmoid", "softplus"])
def test_yaml_model_matches_the_engines_chapter_model(phi: str) -> None:
    model, arrays = chapter(phi)
    reference = engine.chapter_model(**arrays, phi=phi)
    for name in MODEL:
        assert model[name].name == name
        np.testing.assert_allclose(model[name].value, reference[name].value, rtol=1e-13)
    ours, theirs = model.gradients(), reference.gradients()
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12)


@pytest.mark.parametrize("phi", ["tanh", "sigmoid"])
def test_references_agree_with_students_formulas(phi: str) -> None:
    model, _ = chapter(phi)
    values = {name: node.value for name, node in model.items()}
    answers = {
        "b2": "2(o − y)",
        "W2": "2(o - y) hᵀ + λ W2",
        "b1": "W2^T (2(o − y)) ⊙ φ'(z)",
        "W1": "(W_2ᵀ·(2(o-y))⊙dphi(z)) x^T + lambda W1",
    }
    for wrt, answer in answers.items():
        reference = to_engine(parse(f"grad(J, {wrt})"), model).value
        student = evaluate(parse(answer), values, {"phi": phi})
        np.testing.assert_allclose(student, reference, rtol=1e-12, err_msg=answer)


def test_second_order_references() -> None:
    model, _ = chapter("tanh")
    H = to_engine(parse("hessian(J, b2)"), model).value
    np.testing.assert_allclose(H, 2 * np.eye(SIZES["q"]), atol=1e-12)
    v = np.arange(1.0, SIZES["h"] + 1).reshape(-1, 1)
    nodes = dict(model) | {"v": engine.leaf(v, "v")}
    ns = Namespace.chapter().with_variables({"v": ["h"]})
    hv = to_engine(parse("hvp(J, b1, v)", ns), nodes).value
    np.testing.assert_allclose(hv, to_engine(parse("hessian(J, b1)"), model).value @ v)
    # grad(...) is a node: it can be differentiated again
    again = to_engine(parse("grad(sum(grad(J, b2)), b2)"), model).value
    np.testing.assert_allclose(again, 2 * np.ones((SIZES["q"], 1)))


FORMULAS = [
    "exp(z) + log(abs(z)) - sqrt(abs(z)) + tanh(z) * sigmoid(z) + relu(z) - softplus(z)",
    "exp'(z) + log'(abs(z)) + sqrt'(abs(z)) + tanh'(z) + sigmoid'(z) + relu'(z)",
    "softplus'(z) + abs'(z) + phi'(z) - dphi(z)",
    "sum(W1) + mean(W1) + trace(W1 W1^T) + norm(W2)",
    "sum(W1, 0) @ x + mean(W1, 1).T @ z",
    "diag(z) @ W1 + outer(z, x) - diag(W1 @ W1.T) @ x.T",
    "ones(h, 1).T @ eye(h) @ z",
    "prod(2(o - y), h) @ prod(2(o - y), W2)",
    "prod(z, phi'(z)) + prod(lam, z) + prod(W1, x) + prod(x.T, W1.T).T",
    "-(z^2)^3 / 2 + z^-1 - --z",
    "l(o, y) + 1e-3",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_translation_agrees_with_the_evaluator(formula: str) -> None:
    model, _ = chapter("tanh")
    values = {name: node.value for name, node in model.items()}
    tree = parse(formula)
    expected = evaluate(
        tree, values, {"phi": "tanh", "l": lambda o, y: np.sum((o - y) ** 2)}, sizes=SIZES
    )
    result = to_engine(tree, model, sizes=SIZES).value
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_undecided_products_are_resolved_on_shapes() -> None:
    untyped = Namespace(variables={"A": None, "B": None, "c": None})
    nodes = {
        "A": engine.leaf(np.ones((2, 3)), "A"),
        "B": engine.leaf(np.ones((3, 4)), "B"),
        "c": engine.leaf(2.0, "c"),
    }
    result = to_engine(parse("c A B", untyped), nodes)
    np.testing.assert_allclose(result.value, 6 * np.ones((2, 4)))


def test_errors_carry_columns() -> None:
    model, _ = chapter("tanh")
    with pytest.raises(UnknownNameError, match="not a node of the model"):
        to_engine(parse("W1 + v", Namespace.chapter().with_variables({"v": None})), model)
    with pytest.raises(FormulaShapeError) as caught:
        to_engine(parse("W1 * x"), model)
    assert caught.value.column == 4
    with pytest.raises(FormulaError, match="named quantity") as caught:
        to_engine(parse("grad(J, 2 b2)"), model)
    assert caught.value.column == 9
    with pytest.raises(FormulaShapeError, match="needs a scalar"):
        to_engine(parse("grad(o, b2)"), model)


def test_model_errors_name_the_quantity() -> None:
    leaves = {k: engine.leaf(np.ones((2, 1)), k) for k in ("x", "b1")}
    with pytest.raises(ModelFormulaError) as caught:
        build_model({"z": "x + b1", "h": "phi(z) +"}, leaves)
    assert caught.value.quantity == "h"
    assert caught.value.column == 9
    assert "in the model's `h`" in caught.value.message
    with pytest.raises(ValueError, match="name of an input"):
        build_model({"x": "b1"}, leaves)
