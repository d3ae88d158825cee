"""The grammar (Lark, LALR) and :func:`parse`.

:func:`parse` first tries :class:`_Descent`, a recursive-descent reading of the same grammar
that makes the same builder calls, and so the same tree, in well under half of Lark's time. It
reads only formulas that parse: on the first token it does not expect (or any error the builder
raises) it gives up, and Lark parses the tokens again and reports the error as it always has.

Lark's LALR parser is a table-driven loop, and the tree is built by callbacks as rules are
reduced, so it does not recurse on the input. The descent recurses once per bracket level, which
the lexer bounds (with the length and the token count); it reads the operators of one level,
and a run of signs, in loops. The builder bounds the tree depth.
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


_SUM_OPS = frozenset({"ADD", "SUB"})
_PRODUCT_OPS = frozenset({"MUL", "DIV", "MATMUL", "TIMES"})
_POWER_START = frozenset({"NUMBER", "NAME", "SIZE", "FUNC", "DFUNC", "LPAR"})


class _GiveUp(Exception):
    """Raised by :class:`_Descent` on a token the grammar does not allow there."""


class _Descent:
    """The grammar above read by recursive descent, for formulas that parse (see the module
    docstring); each rule makes the builder call that :class:`_Build` makes for it."""

    def __init__(self, tokens: list[Token], builder: Builder) -> None:
        self.tokens = tokens
        self.at = 0
        self.b = builder

    def parse(self) -> Node:
        node = self.sum()
        if self.at != len(self.tokens):
            raise _GiveUp
        return node

    def kind(self) -> str:
        return self.tokens[self.at].type if self.at < len(self.tokens) else "$END"

    def take(self, kind: str) -> Token:
        if self.kind() != kind:
            raise _GiveUp
        token = self.tokens[self.at]
        self.at += 1
        return token

    def sum(self) -> Node:
        left = self.product()
        while self.kind() in _SUM_OPS:
            op = self.tokens[self.at]
            self.at += 1
            right = self.product()
            left = self.b.binop(_OPS[op.type], left, right, op.column, str(op))
        return left

    def product(self) -> Node:
        left = self.unary()
        while True:
            kind = self.kind()
            if kind in _PRODUCT_OPS:
                op = self.tokens[self.at]
                self.at += 1
                right = self.unary()
                left = self.b.binop(_OPS[kind], left, right, op.column, str(op))
            elif kind in _POWER_START:  # juxtaposition: product power
                right = self.power()
                left = self.b.binop(PRODUCT, left, right, right.start, " ")
            else:
                return left

    def unary(self) -> Node:
        signs = []
        while self.kind() in _SUM_OPS:
            signs.append(self.tokens[self.at])
            self.at += 1
        node = self.power()
        for sign in reversed(signs):  # the innermost sign applies first
            if sign.type == "SUB":
                node = self.b.neg(node, sign.column)
        return node

    def power(self) -> Node:
        base = self.postfix()
        if self.kind() != "POW":
            return base
        self.at += 1
        if self.kind() == "LPAR":
            self.at += 1
            value, column = self.signed_number()
            self.take("RPAR")
        else:
            value, column = self.signed_number()
        return self.b.power(base, value, column)

    def signed_number(self) -> tuple[float, int]:
        first = self.kind()
        if first in _SUM_OPS:
            sign = self.tokens[self.at]
            self.at += 1
            value = float(self.take("NUMBER"))
            return (-value if first == "SUB" else value), sign.column
        number = self.take("NUMBER")
        return float(number), number.column

    def postfix(self) -> Node:
        node = self.atom()
        while self.kind() == "TRANSPOSE":
            node = self.b.transpose(node, self.tokens[self.at].column)
            self.at += 1
        return node

    def atom(self) -> Node:
        kind = self.kind()
        if kind not in _POWER_START:
            raise _GiveUp
        token = self.tokens[self.at]
        self.at += 1
        if kind == "NUMBER":
            return self.b.number(float(token), token.column)
        if kind == "NAME":
            return self.b.name(str(token), token.column)
        if kind == "SIZE":
            return self.b.size(str(token), token.column)
        if kind == "LPAR":
            inner = self.sum()
            self.take("RPAR")
            return replace(inner, start=token.column)
        self.take("LPAR")  # FUNC or DFUNC
        arguments = [self.sum()]
        while self.kind() == "COMMA":
            self.at += 1
            arguments.append(self.sum())
        self.take("RPAR")
        return self.b.call(str(token), tuple(arguments), kind == "DFUNC", token.column)


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
    if unknown is None:
        try:
            return _Descent(tokens, Builder(ns)).parse()
        except (_GiveUp, FormulaError, RecursionError):
            pass  # not a formula as it stands: Lark parses it again and says why
    return _parse_with_lark(text, tokens, unknown, ns)


def _parse_with_lark(
    text: str, tokens: list[Token], unknown: FormulaError | None, ns: Namespace
) -> Node:
    """Parse ``tokens`` with Lark; raise the leftmost problem (``unknown``: an unknown name
    the lexer found)."""
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
