"""The parser (grader/mathexpr/parser.py): how tricky forms read, every exercise formula,
random token soup (a refusal is always a FormulaError with a column; what parses prints back
to the same tree), and a run of signs that does not recurse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.bench_formula import exercise_formulas
from grader.mathexpr import Namespace, parse, to_source
from grader.mathexpr.errors import FormulaError

NS = Namespace.chapter().with_variables({"u": None, "v": None})

# (text, canonical source it reads as) or (text, (error class, column)); recorded from the
# LALR grammar this parser replaced, except where a notation was added since (W2', `,`).
TRICKY = [
    ("W2.T @ (2*(o - y)) * phi'(z)", "W2.T @ (2 * (o - y)) * phi'(z)"),
    ("-a b", ("UnknownNameError", 2)),
    ("-x y", "-x @ y"),
    ("x * -y", "x * -y"),
    ("x - -y", "x - -y"),
    ("--x", "--x"),
    ("+-x", "-x"),
    ("-+-x", "--x"),
    ("x'^2", ("FormulaSyntaxError", 2)),
    ("x^2'", ("FormulaSyntaxError", 4)),
    ("x'' y'", ("FormulaSyntaxError", 2)),
    ("2(x + 1)", "2 * (x + 1)"),
    ("(x)(y)", "x @ y"),
    ("x^-1", "x^(-1)"),
    ("x^(-1)", "x^(-1)"),
    ("x^(+2)", "x^2"),
    ("x^+2", "x^2"),
    ("x^2^3", ("FormulaSyntaxError", 4)),
    ("(x^2)^3", "(x^2)^3"),
    ("x^(1+1)", ("FormulaSyntaxError", 5)),
    ("x^y", ("FormulaSyntaxError", 3)),
    ("x^-(1)", ("FormulaSyntaxError", 4)),
    ("((x))'", ("FormulaSyntaxError", 6)),
    ("((x)) + ((((y))))", "x + y"),
    ("sum(x, 0)", "sum(x, 0)"),
    ("sum(x,)", ("FormulaSyntaxError", 7)),
    ("sum()", ("FormulaSyntaxError", 5)),
    ("phi'(z) * (W2.T @ (o - y))", "phi'(z) * (W2.T @ (o - y))"),
    ("ones(d)", "ones(d)"),
    ("ones(d, 1)", "ones(d, 1)"),
    ("x y z", "x @ y z"),
    ("x × y · z", "x @ y z"),
    ("1e3 x", "1000 * x"),
    ("2x^2", "2 * x^2"),
    ("x / y / z", "x / y / z"),
    ("x - y - z + u", "x - y - z + u"),
    ("x @ y @ z", "x @ y @ z"),
    ("transpose(x)", "x.T"),
    ("transpose(x, y)", ("FormulaSyntaxError", 1)),
    ("exp(x)^2'", ("FormulaSyntaxError", 9)),
    ("x + ", ("FormulaSyntaxError", 4)),
    ("x +* y", ("FormulaSyntaxError", 4)),
    ("(x", ("FormulaSyntaxError", 1)),
    ("x)", ("FormulaSyntaxError", 2)),
    (")", ("FormulaSyntaxError", 1)),
    ("", ("FormulaSyntaxError", 1)),
    ("x, y", ("FormulaSyntaxError", 2)),
    ("u v", "u v"),
    ("lam W1", "lam * W1"),
    ("1/2 lam (sum(W1^2) + sum(W2^2))", "1 / 2 * lam * (sum(W1^2) + sum(W2^2))"),
]


@pytest.mark.parametrize(("text", "expected"), TRICKY, ids=[t[0] for t in TRICKY])
def test_tricky_forms(text, expected):
    if isinstance(expected, str):
        tree = parse(text, NS)
        assert to_source(tree) == expected
        assert parse(to_source(tree), NS) == tree
    else:
        with pytest.raises(FormulaError) as caught:
            parse(text, NS)
        assert (type(caught.value).__name__, caught.value.column) == expected


def test_every_exercise_formula_parses_and_prints_back():
    formulas = exercise_formulas()
    assert len(formulas) > 100
    for text, namespace in formulas:
        tree = parse(text, namespace)
        assert parse(to_source(tree), namespace) == tree, text


def test_a_run_of_signs_does_not_recurse():
    with pytest.raises(FormulaError):
        parse("-" * 300 + "x", NS)  # deeper than the tree allows: the builder refuses
    parse("-" * 60 + "x", NS)


def test_errors_name_the_first_problem_from_the_left():
    with pytest.raises(FormulaError) as caught:
        parse("foo + (x", NS)
    assert caught.value.column == 1
    with pytest.raises(FormulaError) as caught:
        parse("x * / foo", NS)
    assert caught.value.column == 5


FRAGMENTS = [
    "x", "y", "z", "o", "W1", "W2", "b1", "u", "v", "lam", "d", "h", "2", "0.5", "1e3", "10",
    "+", "-", "*", "/", "@", "^", "**", "'", ".T", "×", "·", "(", ")", "(", ")", ",",
    "phi", "phi'", "exp", "sum", "ones", "transpose", "relu", "grad", "J", " ", "⊗", ".*",
    "np.", "λ", "I", "\\top", "∂J/∂o",
]  # fmt: skip


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_random_token_soup_parses_or_is_refused_with_a_column(pieces):
    for text in (" ".join(pieces), "".join(pieces)):
        try:
            tree = parse(text, NS)
        except FormulaError as error:
            assert 1 <= error.column <= len(text) + 1
            assert error.message
        else:
            assert parse(to_source(tree), NS) == tree, text
