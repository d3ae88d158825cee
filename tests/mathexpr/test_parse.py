"""Parsing: every notation of the design maps to the same tree; names and errors."""

from __future__ import annotations

import pytest

from grader.mathexpr import (
    BinOp,
    Call,
    FormulaError,
    FormulaLimitError,
    FormulaSyntaxError,
    Name,
    Namespace,
    Number,
    Pow,
    Size,
    Transpose,
    UnknownNameError,
    parse,
)

SAME = [
    # matrix product
    ["W1 @ x", "W1·x", "W1 x", "W1(x)", "W1 ⋅ x", "W1 × x", "W_1 x", "W^(1) x", "W⁽¹⁾x"],
    ["W^{(1)} x", "W_{1}x", "W₁ x", "(W1)(x)", "W1@x"],
    ["W2^T g", "W2.T @ g", "W2ᵀ g", "transpose(W2) g", "W_{2}^T g", "W₂⊤g", "W2^⊤ g"],
    # elementwise product and scalar products
    ["z * z", "z ⊙ z", "z ∘ z"],
    ["2(o - y)", "2*(o-y)", "2 (o − y)", "2 × (o – y)", "2·(o-y)", "(2)(o-y)"],
    ["lam W1", "λ W1", "lambda*W1", "λ·W1", "lam × W1", "lam ⊙ W1"],
    # transposes and powers
    ["x.T", "x^T", "xᵀ", "transpose(x)", "x^{T}", "x⊤"],
    ["z^2", "z**2", "z²", "(z)^(2)", "z ^ 2"],
    ["z^(-1)", "z^-1", "z**-1", "z**(-1)"],
    # the activation and its derivative
    ["phi(z)", "φ(z)", "ϕ(z)"],
    ["phi'(z)", "φ'(z)", "φ′(z)", "dphi(z)", "phi’(z)", "dφ(z)"],
    # the chapter's backward pass, several ways
    [
        "W2^T (2(o − y)) ⊙ φ'(z)",
        "(W2.T @ (2*(o-y))) * dphi(z)",
        "W_2ᵀ·(2(o-y))⊙phi'(z)",
        "transpose(W2) @ (2 (o - y)) * phi′(z)",
        "W^(2)ᵀ (2(o−y)) ∘ φ′(z)",
    ],
    ["2(o - y) h^T + lam W2", "2*(o-y) @ h.T + λ*W2", "2 (o−y) hᵀ + lambda W_2"],
    ["lam/2 * (norm(W1)^2 + norm(W2)^2)", "λ/2 (norm(W_1)² + norm(W_2)**2)"],
    ["-x", "−x", "- x", "+-x"],
    ["1e-3 x", "0.001 * x", ".001x"],
]


@pytest.mark.parametrize("spellings", SAME, ids=[s[0] for s in SAME])
def test_notations_give_the_same_tree(ns: Namespace, spellings: list[str]) -> None:
    ns = ns.with_variables({"g": ["q"]})
    trees = [parse(s, ns) for s in spellings]
    for spelling, tree in zip(spellings, trees, strict=True):
        assert tree == trees[0], spelling


def test_tree_shape_of_the_backward_formula(ns: Namespace) -> None:
    tree = parse("W2^T (2(o − y)) ⊙ φ'(z)", ns)
    assert tree == BinOp(
        "*",
        BinOp(
            "@",
            Transpose(Name("W2")),
            BinOp("*", Number(2.0), BinOp("-", Name("o"), Name("y"))),
        ),
        Call("phi", (Name("z"),), prime=True),
    )
    assert tree.shape == ("h", 1)


def test_juxtaposition_is_left_associative_at_product_level(ns: Namespace) -> None:
    # (g ⊙ φ'(z)) xᵀ, the chapter's dJ/dW1, not g ⊙ (φ'(z) xᵀ)
    tree = parse("2 z * phi'(z) x^T", ns)
    assert isinstance(tree, BinOp) and tree.op == "@"
    assert isinstance(tree.left, BinOp) and tree.left.op == "*"
    assert tree.shape == ("h", "d")


def test_undecided_product_when_shapes_are_unknown() -> None:
    ns = Namespace(variables={"a": None, "b": ["n"], "c": []})
    assert parse("a b", ns).op == "product"  # type: ignore[attr-defined]
    assert parse("a c", ns).op == "*"  # type: ignore[attr-defined]
    assert parse("b b.T", ns).op == "@"  # type: ignore[attr-defined]


def test_caret_index_is_a_name_only_when_declared() -> None:
    ns = Namespace(variables={"W1": ["h", "d"], "a": []})
    assert parse("W^(1)", ns) == Name("W1")
    assert parse("a^(2)", ns) == Pow(Name("a"), 2.0)
    with pytest.raises(UnknownNameError):
        parse("W^(3)", ns)


def test_explicit_aliases_and_underscored_names() -> None:
    ns = Namespace(variables={"dJ_do": ["q"], "theta": []}, aliases={"dJ_do": ["g"]}, sizes=["q"])
    assert parse("dJ_do", ns) == parse("g", ns) == Name("dJ_do")
    assert parse("θ dJ_do", ns) == parse("theta * g", ns)


def test_sizes_inside_ones_and_eye(ns: Namespace) -> None:
    tree = parse("ones(h, 1).T h", ns)
    assert tree.left == Transpose(Call("ones", (Size("h"), Number(1.0))))  # type: ignore[attr-defined]
    assert tree.right == Name("h")  # type: ignore[attr-defined]
    assert parse("eye(q) @ o", ns).shape == ("q", 1)


def test_generic_calls_are_parsed(ns: Namespace) -> None:
    assert parse("hvp(J, b2, o)", ns) == Call("hvp", (Name("J"), Name("b2"), Name("o")))
    assert parse("l(o, y)", ns) == Call("l", (Name("o"), Name("y")))


ERRORS = [
    # (text, error class, column, words the message must contain)
    ("W1 @ ", FormulaSyntaxError, 5, "ends too early"),
    ("W1 @ @ x", FormulaSyntaxError, 6, "unexpected `@`"),
    ("(W1 x", FormulaSyntaxError, 1, "never closed"),
    ("W1 x)", FormulaSyntaxError, 5, "no matching"),
    ("x.y", FormulaSyntaxError, 2, "transpose"),
    ("x[0]", FormulaSyntaxError, 2, "square brackets"),
    ("z^x", FormulaSyntaxError, 3, "constant number"),
    ("z^2^3", FormulaSyntaxError, 4, "brackets"),
    ("z^11", FormulaLimitError, 3, "±10"),
    ("exp", FormulaSyntaxError, 1, "exp(...)"),
    ("sum(W1, 2)", FormulaSyntaxError, 9, "axis"),
    ("trace(W1, W2)", FormulaSyntaxError, 1, "takes 1 argument"),
    ("h'(z)", FormulaSyntaxError, 2, "derivative"),
    ("o = W2 h", FormulaSyntaxError, 3, "right-hand side"),
    ("", FormulaSyntaxError, 1, "empty"),
    ("f()", UnknownNameError, 1, "unknown function `f`"),
    ("W3 x", UnknownNameError, 1, "known names: b1, b2"),
    ("W_3 x", UnknownNameError, 1, "unknown name `W_3`"),
    ("Wl @ x", UnknownNameError, 1, "did you mean W1?"),
    ("foo(x) + )", UnknownNameError, 1, "unknown function"),
    ("x + + )", FormulaSyntaxError, 7, "no matching"),
    ("x + nan", FormulaSyntaxError, 5, "finite"),
    ("1e999", FormulaLimitError, 1, "larger than"),
    ("x +\x07", FormulaSyntaxError, 4, "control character U+0007"),
    ("x + а", FormulaSyntaxError, 5, "Latin or Greek"),
]


@pytest.mark.parametrize(("text", "kind", "column", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_have_a_column_and_plain_words(
    ns: Namespace, text: str, kind: type, column: int, words: str
) -> None:
    with pytest.raises(kind) as caught:
        parse(text, ns)
    assert caught.value.column == column, caught.value
    assert words in caught.value.message
    assert str(caught.value).startswith(f"column {column}: ")


def test_unknown_name_error_lists_the_known_names(ns: Namespace) -> None:
    with pytest.raises(UnknownNameError) as caught:
        parse("2 * V", ns)
    assert caught.value.name == "V"
    assert set(caught.value.known) == set(ns.variable_names)
    assert isinstance(caught.value, FormulaError) and isinstance(caught.value, ValueError)


def test_namespace_rejects_conflicting_declarations() -> None:
    with pytest.raises(ValueError, match="both"):
        Namespace(variables={"l": []}, functions={"l": 2})
    with pytest.raises(ValueError, match="claimed"):
        Namespace(variables={"a": [], "b": []}, aliases={"a": ["c"], "b": ["c"]})
    with pytest.raises(ValueError, match="two dimensions"):
        Namespace(variables={"T3": ["a", "b", "c"]})


def test_builtins_can_be_restricted() -> None:
    ns = Namespace(variables={"x": ["n"]}, builtins=["exp"])
    assert parse("exp(x)", ns) == Call("exp", (Name("x"),))
    with pytest.raises(UnknownNameError, match="unknown function `tanh`"):
        parse("tanh(x)", ns)
