"""Spellings students type that read as the chapter's notation (DESIGN 3), the precedence of a
run of products, prod's arrangement and the refusals that say what to write instead."""

from __future__ import annotations

import numpy as np
import pytest

from grader.mathexpr import (
    BinOp,
    Call,
    FormulaError,
    FormulaShapeError,
    Namespace,
    UnknownNameError,
    evaluate,
    parse,
    to_source,
)

from .conftest import FUNCTIONS, SIZES

NS = Namespace.chapter().with_variables({"dJ_do": ["q"], "dJ_dh": ["h"], "dJ_dz": ["h"]})

SAME = [
    ["lam W2", "λW2", "λ W2", "\\lambda W2", "λ·W2"],
    ["lam W1", "λW_1", "λW₁", "λ W^(1)"],
    [
        "outer(dJ_dz, x)",
        "dJ_dz ⊗ x",
        "np.outer(dJ_dz, x)",
        "numpy.outer(dJ_dz, x)",
        "dJ_dz \\otimes x",
    ],
    [
        "W2.T @ dJ_do",
        "W2' dJ_do",
        "matmul(W2.T, dJ_do)",
        "np.matmul(W2.T, dJ_do)",
        "W2^\\top dJ_do",
    ],
    ["W2.T @ dJ_do", "W2^{\\top} dJ_do", "W2^{\\intercal} dJ_do", "transpose(W2) dJ_do"],
    ["dJ_dh * phi'(z)", "dJ_dh .* phi'(z)", "dJ_dh \\odot \\phi'(z)", "multiply(dJ_dh, phi'(z))"],
    ["dJ_dh * phi'(z)", "dJ_dh \\circ \\varphi'(z)", "dJ_dh ⊙ φ'(z)"],
    ["dJ_do", "∂J/∂o", "∂J / ∂o", "\\left(dJ_do\\right)"],
    ["dJ_dz @ x.T", "∂J/∂z xᵀ", "dJ_dz \\cdot x^T", "dJ_dz \\times x^T"],
    ["z / 2", "z ./ 2"],
    ["z * 0.5", "z \\cdot 0.5"],
    ["z^2", "z.^2", "z .^ 2"],
    ["exp(z)", "np.exp(z)", "\\exp(z)"],
    ["norm(W1)", "np.linalg.norm(W1)"],
]


@pytest.mark.parametrize("spellings", SAME, ids=[s[1] for s in SAME])
def test_spellings_read_the_same(spellings):
    trees = [parse(s, NS) for s in spellings]
    for spelling, tree in zip(spellings, trees, strict=True):
        assert tree == trees[0], spelling


def test_the_identity_has_the_size_the_part_gives_it():
    ns = (
        Namespace.chapter()
        .with_variables({})
        .__class__(variables={"lam": []}, sizes=("q", "h"), identity="q")
    )
    assert parse("2I", ns) == parse("2 I_q", ns) == parse("2*eye(q)", ns)
    assert parse("I_{h}", ns) == parse("eye(h)", ns)
    assert parse("np.identity(q)", ns) == parse("eye(q)", ns)
    with pytest.raises(FormulaError, match="eye\\(q\\) or I_q"):
        parse("2 I", NS)  # no size is implied here
    with pytest.raises(FormulaError, match="not a size"):
        parse("I_k", ns)


@pytest.mark.parametrize(
    ("text", "grouped"),
    [
        # the left-to-right reading fits: kept (the chapter's dJ/dW1)
        ("dJ_dh * phi'(z) x^T", "(dJ_dh * phi'(z)) @ x.T"),
        ("2 z * phi'(z) x^T", "(2 * z * phi'(z)) @ x.T"),
        # it does not: the matrix products bind tighter
        ("φ'(z) ⊙ W2ᵀ dJ_do", "phi'(z) * (W2.T @ dJ_do)"),
        ("phi'(z) * W2.T @ dJ_do", "phi'(z) * (W2.T @ dJ_do)"),
        ("dJ_dh ⊙ φ'(z) ⊙ W1 x", "dJ_dh * phi'(z) * (W1 @ x)"),
        # or the elementwise ones do
        ("W2.T @ dJ_do * phi'(z)", "(W2.T @ dJ_do) * phi'(z)"),
        ("dJ_dz * phi'(z) @ x.T", "(dJ_dz * phi'(z)) @ x.T"),
    ],
)
def test_a_run_of_products_takes_the_grouping_that_fits(text, grouped):
    assert parse(text, NS) == parse(grouped, NS)
    assert parse(to_source(parse(text, NS)), NS) == parse(text, NS)


def test_a_run_that_fits_no_grouping_is_read_left_to_right_and_refused_at_evaluation(values):
    tree = parse("x * W2 @ W1", NS)
    assert isinstance(tree, BinOp) and tree.op == "@"
    with pytest.raises(FormulaShapeError):
        evaluate(tree, values, FUNCTIONS, sizes=SIZES)


def test_prod_takes_the_arrangement_the_context_needs(values):
    v = dict(values, dJ_do=2 * (values["o"] - values["y"]))
    v["dJ_dz"] = (v["W2"].T @ v["dJ_do"]) * (1 - np.tanh(v["z"]) ** 2)
    dJ_dh = evaluate(parse("prod(W2, dJ_do)", NS), v, FUNCTIONS, expect=(SIZES["h"], 1))
    assert np.allclose(dJ_dh, v["W2"].T @ v["dJ_do"])
    dJ_dW1 = evaluate(parse("prod(x, dJ_dz) + lam W1", NS), v, FUNCTIONS)
    assert np.allclose(dJ_dW1, v["dJ_dz"] @ v["x"].T + v["lam"] * v["W1"])
    also = evaluate(parse("lam W1 + prod(x, dJ_dz)", NS), v, FUNCTIONS)
    assert np.allclose(also, dJ_dW1)
    # without a context, the first arrangement that fits, as before
    assert evaluate(parse("prod(W2, dJ_do)", NS), v, FUNCTIONS).shape == (1, SIZES["h"])


def test_dot_is_numpy_s_dot(values):
    v = values
    assert np.allclose(evaluate(parse("dot(W2, h)", NS), v, FUNCTIONS), v["W2"] @ v["h"])
    inner = evaluate(parse("dot(z, h)", NS), v, FUNCTIONS)
    assert inner.shape == (1, 1) and np.isclose(inner[0, 0], (v["z"].T @ v["h"])[0, 0])
    assert np.allclose(evaluate(parse("dot(2, h)", NS), v, FUNCTIONS), 2 * v["h"])
    with pytest.raises(FormulaShapeError, match="outer"):
        evaluate(parse("dot(z, x)", NS), v, FUNCTIONS, sizes=SIZES)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("h' W2", "write h.T or hᵀ for a transpose"),
        ("(W2 h)'", "(...)ᵀ or (...).T"),
        ("np.foo(z)", "numpy's names work for these functions"),
        ("np.z", "numpy's names work"),
        ("\\frac{1}{2} z", "write a/b"),
        ("\\mathbf{W1} x", "write the name alone"),
        ("\\partial J", "∂J/∂o or dJ_do"),
        ("∂ J", "∂J/∂o (or dJ_do)"),
    ],
)
def test_refusals_say_what_to_write(text, words):
    with pytest.raises(FormulaError) as caught:
        parse(text, NS)
    assert words in caught.value.message


def test_a_part_name_that_does_not_exist_is_an_unknown_name():
    with pytest.raises(UnknownNameError, match="dJ_dW2"):
        parse("∂J/∂W_2", NS)


def test_greek_letters_end_a_name_but_declared_names_stay_whole():
    ns = Namespace(variables={"λx": [], "x": [], "lam": []})
    assert parse("λx", ns) == parse("λx", ns)
    assert to_source(parse("λx", ns)) == "λx"  # declared: one name
    assert to_source(parse("λ x", ns)) == "lam * x"
    assert parse("dφ(z)") == Call("phi", (parse("z"),), prime=True)


def test_juxtaposed_letters_are_a_product_only_where_the_namespace_says_so():
    counts = Namespace(variables={"h": [], "n": [], "d": []}, letter_products=True)
    assert to_source(parse("2hn + dh", counts)) == "2 * h * n + d * h"
    with pytest.raises(UnknownNameError):
        parse("hn", Namespace(variables={"h": [], "n": []}))
