"""Property tests: canonical source round-trips; every notation gives the same tree and
the same value."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.mathexpr import Builder, Namespace, Node, evaluate, parse, to_source
from grader.mathexpr.ast import BINARY_OPS

from .conftest import FUNCTIONS, chapter_values
from .notation import variant

# The chapter's names plus two whose shapes are unknown, so that undecided products occur.
NS = Namespace.chapter().with_variables({"u": None, "v": None})
B = Builder(NS)
NAMES = ["x", "y", "W1", "b1", "W2", "b2", "lam", "z", "h", "o", "J", "u", "v"]
ELEMENTWISE = ["exp", "log", "tanh", "sigmoid", "relu", "softplus", "abs", "sqrt", "phi"]

numbers = st.one_of(
    st.integers(0, 1000).map(float),
    st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, 1e-5, 2.5e-12, 123456.789]),
)
exponents = st.one_of(st.integers(-10, 10).map(float), st.sampled_from([0.5, -1.5, 2.25]))


def leaves() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.sampled_from(NAMES).map(B.name),
        numbers.map(B.number),
        st.tuples(st.sampled_from(["d", "h", "q"]), st.sampled_from([None, 1, 3])).map(
            lambda t: B.call("ones", (B.size(t[0]),) + (() if t[1] is None else (B.number(t[1]),)))
        ),
    )


def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.tuples(st.sampled_from(BINARY_OPS), children, children).map(
            lambda t: B.binop(t[0], t[1], t[2])
        ),
        children.map(B.neg),
        children.map(B.transpose),
        st.tuples(children, exponents).map(lambda t: B.power(*t)),
        st.tuples(st.sampled_from(ELEMENTWISE), st.booleans(), children).map(
            lambda t: B.call(t[0], (t[2],), prime=t[1] and t[0] != "sqrt")
        ),
        st.tuples(st.sampled_from(["sum", "mean"]), children, st.sampled_from([None, 0, 1])).map(
            lambda t: B.call(t[0], (t[1],) + (() if t[2] is None else (B.number(t[2]),)))
        ),
        st.tuples(st.sampled_from(["outer", "prod", "l", "grad"]), children, children).map(
            lambda t: B.call(t[0], (t[1], t[2]))
        ),
        st.tuples(children, children, children).map(lambda t: B.call("hvp", t)),
    )


trees = st.recursive(leaves(), extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_canonical_source_round_trips(tree: Node) -> None:
    source = to_source(tree)
    again = parse(source, NS)
    assert again == tree, source
    assert to_source(again) == source


@settings(max_examples=300, deadline=None)
@given(trees, st.randoms(use_true_random=False))
def test_any_notation_gives_the_same_tree(tree: Node, rnd) -> None:
    text = variant(tree, rnd.choice)
    assert parse(text, NS) == tree, text


CHAPTER_FORMULAS = [
    "W1 @ x + b1",
    "W2 @ phi(z) + b2",
    "2 * (o - y)",
    "2 * (o - y) @ h.T + lam * W2",
    "W2.T @ (2 * (o - y))",
    "W2.T @ (2 * (o - y)) * phi'(z)",
    "(W2.T @ (2 * (o - y)) * phi'(z)) @ x.T + lam * W1",
    "l(o, y) + lam / 2 * (norm(W1)^2 + norm(W2)^2)",
    "sum((o - y)^2) + 0.5 * lam * trace(W1 @ W1.T)",
    "diag(phi'(z)) @ W2.T @ (o - y) - outer(z, x) @ x",
]

# Every name with unknown shape: products are decided only when evaluating.
UNTYPED = Namespace(
    variables={n: None for n in Namespace.chapter().variable_names},
    sizes=("d", "h", "q"),
    functions={"l": 2},
    activations=("phi",),
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(CHAPTER_FORMULAS),
    st.lists(st.integers(2, 7), min_size=3, max_size=3, unique=True),
    st.integers(0, 2**32 - 1),
    st.randoms(use_true_random=False),
)
def test_every_notation_gives_the_same_value(formula, dims, seed, rnd) -> None:
    sizes = dict(zip(("d", "h", "q"), dims, strict=True))
    values = chapter_values(np.random.default_rng(seed), sizes)
    reference = evaluate(parse(formula), values, FUNCTIONS, sizes=sizes)
    for _ in range(4):
        text = variant(parse(formula), rnd.choice)
        for ns in (NS, UNTYPED):
            result = evaluate(parse(text, ns), values, FUNCTIONS, sizes=sizes)
            assert result.shape == reference.shape, text
            np.testing.assert_allclose(result, reference, rtol=1e-12, atol=1e-12, err_msg=text)
