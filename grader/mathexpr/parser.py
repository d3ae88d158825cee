"""The grammar (Lark, LALR) and :func:`parse`.

Lark's LALR parser is a table-driven loop, and the tree is built by callbacks as rules are
reduced, so nothing here recurses on the input; the lexer has already bounded the length,
the token count and the bracket depth, and the builder bounds the tree depth.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import replace
from functools import lru_cache

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer as LarkLexer

from .ast import PRODUCT, Node
from .build import Builder
from .errors import FormulaError, FormulaSyntaxError
from .lexer import tokenize
from .namespace import Namespace

GRAMMAR = r"""
?start: sum

?sum: product
    | sum ADD product                -> binop
    | sum SUB product                -> binop

?product: unary
    | product MUL unary              -> binop
    | product DIV unary              -> binop
    | product MATMUL unary           -> binop
    | product TIMES unary            -> binop
    | product power                  -> juxtaposition

?unary: power
    | SUB unary                      -> neg
    | ADD unary                      -> pos

?power: postfix
    | postfix POW exponent           -> power

exponent: signed_number
    | LPAR signed_number RPAR

signed_number: NUMBER
    | SUB NUMBER
    | ADD NUMBER

?postfix: atom
    | postfix TRANSPOSE              -> transpose

?atom: NUMBER                        -> number
    | NAME                           -> name
    | SIZE                           -> size
    | FUNC LPAR arguments RPAR       -> call
    | DFUNC LPAR arguments RPAR      -> call
    | LPAR sum RPAR                  -> group

arguments: sum (COMMA sum)*

%declare NUMBER NAME SIZE FUNC DFUNC ADD SUB MUL DIV MATMUL TIMES POW TRANSPOSE LPAR RPAR COMMA
"""

_OPS = {"ADD": "+", "SUB": "-", "MUL": "*", "DIV": "/", "MATMUL": "@", "TIMES": PRODUCT}

_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "SIZE": "a size",
    "FUNC": "a function",
    "DFUNC": "a function",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "ADD": "an operator",
    "SUB": "an operator",
    "MUL": "an operator",
    "DIV": "an operator",
    "MATMUL": "an operator",
    "TIMES": "an operator",
    "POW": "`^`",
    "TRANSPOSE": "a transpose",
    "$END": "the end of the formula",
}


class _TokenList(LarkLexer):
    """Hands our own tokens to Lark."""

    def __init__(self, lexer_conf: object) -> None:
        pass

    def lex(self, data: list[Token]) -> Iterator[Token]:  # type: ignore[override]
        yield from data


# The parser is built once; the builder (bound to a namespace) is per call and per thread.
_BUILDER: ContextVar[Builder] = ContextVar("mathexpr_builder")


class _Build(Transformer):
    """Callbacks run by the LALR parser on each reduction (no recursion)."""

    @property
    def b(self) -> Builder:
        return _BUILDER.get()

    def number(self, c: list) -> Node:
        return self.b.number(float(c[0]), c[0].column)

    def name(self, c: list) -> Node:
        return self.b.name(str(c[0]), c[0].column)

    def size(self, c: list) -> Node:
        return self.b.size(str(c[0]), c[0].column)

    def binop(self, c: list) -> Node:
        left, op, right = c
        return self.b.binop(_OPS[op.type], left, right, op.column, str(op))

    def juxtaposition(self, c: list) -> Node:
        left, right = c
        return self.b.binop(PRODUCT, left, right, right.start, " ")

    def neg(self, c: list) -> Node:
        return self.b.neg(c[1], c[0].column)

    def pos(self, c: list) -> Node:
        return c[1]

    def signed_number(self, c: list) -> tuple[float, int]:
        value = float(c[-1])
        return (-value if c[0].type == "SUB" else value), c[0].column

    def exponent(self, c: list) -> tuple[float, int]:
        return c[1] if len(c) == 3 else c[0]

    def power(self, c: list) -> Node:
        base, _, (value, column) = c
        return self.b.power(base, value, column)

    def transpose(self, c: list) -> Node:
        return self.b.transpose(c[0], c[1].column)

    def arguments(self, c: list) -> tuple[Node, ...]:
        return tuple(x for x in c if isinstance(x, Node))

    def call(self, c: list) -> Node:
        func, _, args, _ = c
        return self.b.call(str(func), args, func.type == "DFUNC", func.column)

    def group(self, c: list) -> Node:
        inner: Node = c[1]
        return replace(inner, start=c[0].column)


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer=_TokenList, transformer=_Build())


@lru_cache(maxsize=1)
def _chapter() -> Namespace:
    return Namespace.chapter()


def _expected(expected: set[str]) -> str:
    if "NAME" in expected:  # an operand is expected; signs and sizes need no mention
        return "a name, a number, a function or `(`"
    words = sorted({_WORDS.get(t, t.lower()) for t in expected})
    if len(words) > 1:
        return ", ".join(words[:-1]) + " or " + words[-1]
    return words[0] if words else "something else"


def _syntax_error(error: UnexpectedInput, text: str, tokens: list[Token]) -> FormulaError:
    """Translate Lark's complaint into a sentence with a column."""
    if not isinstance(error, UnexpectedToken):
        return FormulaSyntaxError("this formula cannot be read", len(text) + 1)
    token = error.token
    index = next((k for k, t in enumerate(tokens) if t is token), len(tokens))

    def kind(offset: int) -> str:
        return tokens[index - offset].type if index - offset >= 0 else ""

    exponent_message = "an exponent must be a constant number, as in a^2, a**3 or a^(-1)"
    if (
        kind(1) == "POW"
        or (kind(1), kind(2)) == ("LPAR", "POW")
        or (
            kind(2),
            kind(3),
        )
        == ("LPAR", "POW")
    ):
        end = token.type == "$END"
        return FormulaSyntaxError(exponent_message, len(text) + 1 if end else token.column)
    if token.type == "$END":
        column = len(text.rstrip()) + 1
        if not tokens:
            return FormulaSyntaxError("the formula is empty", 1)
        return FormulaSyntaxError(
            f"the formula ends too early: expected {_expected(error.expected)}", column
        )
    shown = f"`{token.value}`" if token.type not in ("NAME", "NUMBER") else str(token.value)
    if token.type == "POW" and (
        kind(2) == "POW"
        or (kind(3), kind(2)) in (("POW", "SUB"), ("POW", "ADD"))
        or (kind(4), kind(3)) == ("POW", "LPAR")
    ):
        return FormulaSyntaxError(
            "a power cannot be raised to a power again; use brackets, as in (a^2)^3",
            token.column,
        )
    if (kind(3), kind(2)) == ("POW", "LPAR") or (kind(4), kind(3)) == ("POW", "LPAR"):
        return FormulaSyntaxError(exponent_message, token.column)
    previous = tokens[index - 1] if index > 0 else None
    if token.type == "RPAR" and previous is not None and previous.type in ("LPAR", "COMMA"):
        return FormulaSyntaxError("something is missing before this `)`", token.column)
    return FormulaSyntaxError(
        f"unexpected {shown}: expected {_expected(error.expected)}", token.column
    )


def parse(text: str, namespace: Namespace | None = None) -> Node:
    """Parse a formula into a syntax tree, resolving names and aliases in ``namespace``
    (default: :meth:`Namespace.chapter`).

    Returns the root :class:`~grader.mathexpr.ast.Node`. Raises FormulaSyntaxError for
    text that is not a formula, FormulaLimitError for a formula beyond the limits and
    UnknownNameError for a name or function the namespace does not know; each carries
    the 1-based column, and the leftmost problem is the one reported.
    """
    if not isinstance(text, str):
        raise TypeError("a formula is a string")
    ns = namespace if namespace is not None else _chapter()
    tokens, unknown = tokenize(text, ns)
    token = _BUILDER.set(Builder(ns))
    try:
        result: Node = _lark().parse(tokens)  # type: ignore[arg-type]
    except UnexpectedInput as error:
        problem = _syntax_error(error, text, tokens)
        if unknown is not None and unknown.column <= problem.column:
            raise unknown from None
        raise problem from None
    except FormulaError as problem:
        if unknown is not None and unknown.column <= problem.column:
            raise unknown from None
        raise
    finally:
        _BUILDER.reset(token)
    if unknown is not None:
        raise unknown
    return result
