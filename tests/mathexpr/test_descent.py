"""The recursive-descent parser reads every formula as Lark's LALR parser of the same grammar
does: the same tree for a formula that parses, and for one that does not, the same error (Lark
reports it). Checked on every formula of the exercises, on tricky forms and on random token
soup."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.catalog import load_files
from grader.kinds.formula_values import spec_plan
from grader.mathexpr import Builder, Namespace, Node, parse
from grader.mathexpr import parser as parser_module
from grader.mathexpr.errors import FormulaError

ROOT = Path(__file__).resolve().parents[2]
NS = Namespace.chapter().with_variables({"u": None, "v": None})

TRICKY = [
    "W2.T @ (2*(o - y)) * phi'(z)",
    "-a b",
    "-x y",
    "x * -y",
    "x - -y",
    "--x",
    "+-x",
    "-+-x",
    "x'^2",
    "x^2'",
    "x'' y'",
    "2(x + 1)",
    "(x)(y)",
    "x^-1",
    "x^(-1)",
    "x^(+2)",
    "x^+2",
    "x^2^3",
    "(x^2)^3",
    "x^(1+1)",
    "x^y",
    "x^-(1)",
    "((x))'",
    "((x)) + ((((y))))",
    "sum(x, 0)",
    "sum(x,)",
    "sum()",
    "phi'(z) * (W2.T @ (o - y))",
    "ones(d)",
    "ones(d, 1)",
    "x y z",
    "x × y · z",
    "1e3 x",
    "2x^2",
    "x / y / z",
    "x - y - z + u",
    "x @ y @ z",
    "transpose(x)",
    "transpose(x, y)",
    "exp(x)^2'",
    "x + ",
    "x +* y",
    "(x",
    "x)",
    ")",
    "",
    "x, y",
    "u v",
    "lam W1",
    "1/2 lam (sum(W1^2) + sum(W2^2))",
]


def full(value: object) -> object:
    """A node as nested tuples of every field, the metadata too (columns, static shapes,
    depth, the operator's symbol), which node equality leaves out."""
    if isinstance(value, Node):
        return (
            type(value).__name__,
            *((f.name, full(getattr(value, f.name))) for f in fields(value)),
        )
    if isinstance(value, tuple):
        return tuple(full(item) for item in value)
    return value


def lark_outcome(text: str, namespace: Namespace) -> tuple:
    """What Lark alone makes of ``text``: its tree, or the error it reports."""
    try:
        tokens, unknown = parser_module.tokenize(text, namespace)
        return ("tree", full(parser_module._parse_with_lark(text, tokens, unknown, namespace)))
    except FormulaError as exc:
        return ("error", type(exc).__name__, exc.message, exc.column)


def parse_outcome(text: str, namespace: Namespace) -> tuple:
    try:
        return ("tree", full(parse(text, namespace)))
    except FormulaError as exc:
        return ("error", type(exc).__name__, exc.message, exc.column)


def check_same(text: str, namespace: Namespace) -> tuple:
    expected = lark_outcome(text, namespace)
    assert parse_outcome(text, namespace) == expected, text
    return expected


def exercise_formulas() -> list[tuple[str, Namespace]]:
    """Every formula of every exercise (references, answers, mistakes, examples), with the
    namespace it is read in."""
    found = []
    for loaded in load_files(sorted((ROOT / "exercises").glob("*.yaml"))):
        spec = loaded.spec
        plan = spec_plan(spec)
        for part in spec.parts:
            prepared = plan.parts.get(part.id)
            if prepared is None:
                continue
            found.append((part.reference, prepared.instructor_ns))
            for text in [part.answer, *(m.answer for m in part.mistakes)]:
                if text:
                    found.append((text, prepared.student_ns))
        for example in loaded.spec.examples:
            prepared = plan.parts.get(example.part)
            if prepared is not None and isinstance(example.answer, str):
                found.append((example.answer, prepared.student_ns))
    return found


def test_every_exercise_formula_gets_lark_s_tree_from_the_descent():
    formulas = exercise_formulas()
    assert len(formulas) > 100
    parsed = 0
    for text, namespace in formulas:
        outcome = check_same(text, namespace)
        if outcome[0] == "tree":
            tokens, unknown = parser_module.tokenize(text, namespace)
            assert unknown is None
            # the descent itself made it (it did not give up and leave it to Lark)
            assert full(parser_module._Descent(tokens, Builder(namespace)).parse()) == outcome[1]
            parsed += 1
    assert parsed > 100


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_forms_read_as_lark_reads_them(text):
    outcome = check_same(text, NS)
    if outcome[0] == "tree":
        tokens, _ = parser_module.tokenize(text, NS)
        assert full(parser_module._Descent(tokens, Builder(NS)).parse()) == outcome[1]


def test_a_run_of_signs_does_not_recurse():
    text = "-" * 300 + "x"  # deeper than the tree allows: the builder refuses, as with Lark
    assert check_same(text, NS)[0] == "error"
    assert check_same("-" * 60 + "x", NS)[0] == "tree"


FRAGMENTS = [
    "x", "y", "z", "o", "W1", "W2", "b1", "u", "v", "lam", "d", "h", "2", "0.5", "1e3", "10",
    "+", "-", "*", "/", "@", "^", "**", "'", ".T", "×", "·", "(", ")", "(", ")", ",",
    "phi", "phi'", "exp", "sum", "ones", "transpose", "relu", "grad", "J", " ",
]  # fmt: skip


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_random_token_soup_reads_as_lark_reads_it(pieces):
    check_same(" ".join(pieces), NS)
    check_same("".join(pieces), NS)
