"""The grammar of the formula language and :func:`parse`, a recursive-descent parser.

The grammar, in the descent's own terms (one method per rule)::

    sum      := product (("+" | "-") product)*
    product  := unary (PRODUCT_OP unary | power)*     a power right after an operand is a
                                                      juxtaposition (an implicit product)
    unary    := ("+" | "-")* power
    power    := postfix (("^" | "**") exponent)?
    exponent := signed_number | "(" signed_number ")"
    postfix  := atom TRANSPOSE*
    atom     := NUMBER | NAME | SIZE | FUNC "(" sum ("," sum)* ")" | "(" sum ")"

PRODUCT_OP is ``*`` (also ``⊙ ∘ .*``), ``/``, ``@``, ``×``/``·`` and ``⊗`` (the outer product).

A run of products is read left to right (``g ⊙ φ'(z) xᵀ`` is ``(g ⊙ φ'(z)) xᵀ``, the chapter's
dJ/dW1) unless that reading does not fit the shapes the namespace declares and a reading in
which the matrix products (``@ × · ⊗`` and juxtaposition) bind tighter than the elementwise
ones (``* ⊙ /``) does: then that one is taken (``φ'(z) ⊙ W2ᵀ dJ_do`` is
``φ'(z) ⊙ (W2ᵀ dJ_do)``); failing that, a reading in which the elementwise products bind
tighter. DESIGN section 3 states the rule.

The descent recurses once per bracket level, which the lexer bounds (with the length and the
token count); it reads the operators of one level, and a run of signs, in loops. The builder
bounds the tree depth. Every refusal is a FormulaSyntaxError with the column of the token
where reading stopped; the leftmost problem (an unknown name the lexer found, or the syntax
error) is the one reported.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .ast import PRODUCT, BinOp, Call, Node
from .build import Builder
from .errors import FormulaError, FormulaSyntaxError
from .lexer import Token, tokenize
from .namespace import Namespace

_OPS = {"ADD": "+", "SUB": "-", "MUL": "*", "DIV": "/", "MATMUL": "@", "TIMES": PRODUCT}

_SUM_OPS = frozenset({"ADD", "SUB"})
_PRODUCT_OPS = frozenset({"MUL", "DIV", "MATMUL", "TIMES", "OUTER"})
_ELEMENTWISE_OPS = frozenset({"MUL", "DIV"})
_OPERAND_START = frozenset({"NUMBER", "NAME", "SIZE", "FUNC", "DFUNC", "LPAR"})

_OPERAND = "a name, a number, a function or `(`"
_EXPONENT = "an exponent must be a constant number, as in a^2, a**3 or a^(-1)"


class _Descent:
    """One parse of one token list; each rule makes the builder calls that build its node."""

    def __init__(self, text: str, tokens: list[Token], builder: Builder) -> None:
        self.text = text
        self.tokens = tokens
        self.at = 0
        self.b = builder

    # -- reading tokens and refusing --------------------------------------------------------

    def kind(self) -> str:
        return self.tokens[self.at].type if self.at < len(self.tokens) else "$END"

    def take(self, kind: str) -> Token:
        if self.kind() != kind:
            raise self.unexpected()
        token = self.tokens[self.at]
        self.at += 1
        return token

    def unexpected(self, exponent: bool = False) -> FormulaSyntaxError:
        """The error for the current token, which the grammar does not allow here."""
        if not self.tokens:
            return FormulaSyntaxError("the formula is empty", 1)
        if self.at >= len(self.tokens):
            if exponent:
                return FormulaSyntaxError(_EXPONENT, len(self.text) + 1)
            return FormulaSyntaxError(
                f"the formula ends too early: expected {_OPERAND}", len(self.text.rstrip()) + 1
            )
        token = self.tokens[self.at]
        if exponent:
            return FormulaSyntaxError(_EXPONENT, token.column)
        previous = self.tokens[self.at - 1] if self.at > 0 else None
        if token.type == "RPAR" and previous is not None and previous.type in ("LPAR", "COMMA"):
            return FormulaSyntaxError("something is missing before this `)`", token.column)
        if token.type == "COMMA":
            return FormulaSyntaxError(
                "unexpected `,`: a comma separates the arguments of a function, as in "
                "sum(A, 0) or outer(u, v)",
                token.column,
            )
        shown = token.value if token.type in ("NAME", "NUMBER") else f"`{token.value}`"
        return FormulaSyntaxError(f"unexpected {shown}: expected {_OPERAND}", token.column)

    # -- the rules --------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.sum()
        if self.at != len(self.tokens):
            raise self.unexpected()
        return node

    def sum(self) -> Node:
        left = self.product()
        while self.kind() in _SUM_OPS:
            op = self.tokens[self.at]
            self.at += 1
            right = self.product()
            left = self.b.binop(_OPS[op.type], left, right, op.column, op.value)
        return left

    def product(self) -> Node:
        operands = [self.unary()]
        ops: list[Token | None] = []  # None: a juxtaposition
        while True:
            kind = self.kind()
            if kind in _PRODUCT_OPS:
                ops.append(self.tokens[self.at])
                self.at += 1
                operands.append(self.unary())
            elif kind in _OPERAND_START:
                ops.append(None)
                operands.append(self.power())
            else:
                break
        if not ops:
            return operands[0]
        return self.chain(operands, ops)

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
            if self.kind() != "RPAR":
                raise self.unexpected(exponent=True)
            self.at += 1
        else:
            value, column = self.signed_number()
        if self.kind() == "POW":
            raise FormulaSyntaxError(
                "a power cannot be raised to a power again; use brackets, as in (a^2)^3",
                self.tokens[self.at].column,
            )
        return self.b.power(base, value, column)

    def signed_number(self) -> tuple[float, int]:
        first = self.kind()
        column = self.tokens[self.at].column if self.at < len(self.tokens) else 0
        if first in _SUM_OPS:
            self.at += 1
        if self.kind() != "NUMBER":
            raise self.unexpected(exponent=True)
        value = float(self.tokens[self.at].value)
        if first not in _SUM_OPS:
            column = self.tokens[self.at].column
        self.at += 1
        return (-value if first == "SUB" else value), column

    def postfix(self) -> Node:
        node = self.atom()
        while self.kind() == "TRANSPOSE":
            node = self.b.transpose(node, self.tokens[self.at].column)
            self.at += 1
        return node

    def atom(self) -> Node:
        kind = self.kind()
        if kind not in _OPERAND_START:
            raise self.unexpected()
        token = self.tokens[self.at]
        self.at += 1
        if kind == "NUMBER":
            return self.b.number(float(token.value), token.column)
        if kind == "NAME":
            return self.b.name(token.value, token.column)
        if kind == "SIZE":
            return self.b.size(token.value, token.column)
        if kind == "LPAR":
            inner = self.sum()
            self.take("RPAR")
            return replace(inner, start=token.column)
        self.take("LPAR")  # FUNC or DFUNC: the lexer emits them only before `(`
        arguments = [self.sum()]
        while self.kind() == "COMMA":
            self.at += 1
            arguments.append(self.sum())
        self.take("RPAR")
        return self.b.call(token.value, tuple(arguments), kind == "DFUNC", token.column)

    # -- runs of products -------------------------------------------------------------------

    def apply(self, op: Token | None, left: Node, right: Node) -> Node:
        if op is None:
            return self.b.binop(PRODUCT, left, right, right.start, " ")
        if op.type == "OUTER":
            return self.b.call("outer", (left, right), False, op.column)
        return self.b.binop(_OPS[op.type], left, right, op.column, op.value)

    def fold(self, operands: list[Node], ops: list[Token | None], loose: frozenset[str]) -> Node:
        """Build the run with the operators in ``loose`` binding last (left to right within
        each level); ``loose`` empty: plain left to right."""
        segments: list[Node] = []
        joints: list[Token | None] = []
        current = operands[0]
        for op, operand in zip(ops, operands[1:], strict=True):
            if op is not None and op.type in loose:
                segments.append(current)
                joints.append(op)
                current = operand
            else:
                current = self.apply(op, current, operand)
        segments.append(current)
        node = segments[0]
        for op, operand in zip(joints, segments[1:], strict=True):
            node = self.apply(op, node, operand)
        return node

    def chain(self, operands: list[Node], ops: list[Token | None]) -> Node:
        """The reading of a run of products that fits the declared shapes (module docstring)."""
        if len(ops) == 1:
            return self.apply(ops[0], operands[0], operands[1])
        plain = self.fold(operands, ops, frozenset())
        kinds = {op.type if op is not None else "JUXTAPOSITION" for op in ops}
        mixed = bool(kinds & _ELEMENTWISE_OPS) and bool(kinds - _ELEMENTWISE_OPS)
        if not mixed or _fits(plain, operands):
            return plain
        matrix_ops = frozenset(k for k in kinds if k not in _ELEMENTWISE_OPS)
        for loose in (_ELEMENTWISE_OPS, matrix_ops):
            try:
                other = self.fold(operands, ops, loose)
            except FormulaError:
                continue
            if _fits(other, operands):
                return other
        return plain


def _known(shape: tuple | None) -> bool:
    """A static shape made of size names (a literal size may equal a name on a trial)."""
    return shape is not None and all(isinstance(d, str) or d == 1 for d in shape)


def _fits(node: Node, operands: list[Node]) -> bool:
    """False when a product node of the run is statically known not to fit: both operands'
    shapes are known (in size names) and the result has none."""
    inside = {id(operand) for operand in operands}
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in inside:
            continue
        if isinstance(current, BinOp):
            parts: tuple[Node, ...] = (current.left, current.right)
        elif isinstance(current, Call) and current.name == "outer":
            parts = current.args
        else:
            continue
        if all(_known(p.shape) for p in parts) and current.shape is None:
            return False
        stack.extend(parts)
    return True


@lru_cache(maxsize=1)
def _chapter() -> Namespace:
    return Namespace.chapter()


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
    try:
        tree = _Descent(text, tokens, Builder(ns)).parse()
    except FormulaError as problem:
        if unknown is not None and unknown.column <= problem.column:
            raise unknown from None
        raise
    if unknown is not None:
        raise unknown
    return tree
