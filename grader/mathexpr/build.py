"""Smart constructors for syntax trees: static shapes, product normalisation, limits.

The parser builds every node through a :class:`Builder`, and so can anyone who makes
trees by hand (tests, generators), which keeps hand-made trees equal to parsed ones.
"""

from __future__ import annotations

import math

from .ast import (
    ADD,
    DIV,
    MATMUL,
    MUL,
    PRODUCT,
    SUB,
    BinOp,
    Call,
    Name,
    Neg,
    Node,
    Number,
    Pow,
    Size,
    StaticShape,
    Transpose,
)
from .errors import FormulaLimitError, FormulaSyntaxError
from .functions import BUILTINS, OPERATOR_FUNCTIONS, TRANSPOSE_FUNCTION, static_call_shape
from .namespace import Namespace


def _elementwise_shape(a: StaticShape | None, b: StaticShape | None) -> StaticShape | None:
    if a == ():
        return b
    if b == ():
        return a
    return a if a is not None and a == b else None


def _matmul_shape(a: StaticShape | None, b: StaticShape | None) -> StaticShape | None:
    if a is not None and b is not None and len(a) == 2 and len(b) == 2 and a[1] == b[0]:
        return (a[0], b[1])
    return None


class Builder:
    """Builds nodes for one namespace, checking the limits that depend on the tree."""

    def __init__(self, namespace: Namespace) -> None:
        self.ns = namespace
        self.limits = namespace.limits
        self._activations = frozenset(namespace.activations)

    def _meta(self, col: int, start: int, shape: StaticShape | None, *kids: Node) -> dict:
        depth = 1 + max((k.depth for k in kids), default=0)
        if depth > self.limits.max_depth:
            raise FormulaLimitError(
                f"the formula is nested too deeply (more than {self.limits.max_depth} "
                "levels); split it into simpler parts",
                col,
            )
        return {"col": col, "start": start, "shape": shape, "depth": depth}

    def number(self, value: float, col: int = 1) -> Number:
        """A literal; raises FormulaLimitError for a negative, non-finite or huge value."""
        if not (0 <= value <= self.limits.max_literal) or not math.isfinite(value):
            raise FormulaLimitError("this number is not accepted", col)
        return Number(float(value), **self._meta(col, col, ()))

    def name(self, name: str, col: int = 1) -> Name:
        """A canonical variable name, with its declared shape."""
        return Name(name, **self._meta(col, col, self.ns.shape_of(name)))

    def size(self, name: str, col: int = 1) -> Size:
        """A size name used as a number inside ones/eye."""
        return Size(name, **self._meta(col, col, ()))

    def neg(self, operand: Node, col: int = 1) -> Neg:
        """``-operand``."""
        return Neg(operand, **self._meta(col, col, operand.shape, operand))

    def binop(self, op: str, left: Node, right: Node, col: int = 1, symbol: str = "") -> BinOp:
        """``left op right``; ``op == product`` (juxtaposition, ×, ·) is normalised to ``*``
        when a side is statically scalar, to ``@`` when both sides are known arrays."""
        if op == PRODUCT:
            if left.shape == () or right.shape == ():
                op = MUL
            elif left.shape is not None and right.shape is not None:
                op = MATMUL
        if op in (ADD, SUB, MUL, DIV):
            shape = _elementwise_shape(left.shape, right.shape)
        elif op == MATMUL:
            shape = _matmul_shape(left.shape, right.shape)
        else:
            shape = None
        meta = self._meta(col, left.start, shape, left, right)
        return BinOp(op, left, right, symbol=symbol or op, **meta)

    def power(self, base: Node, exponent: float, col: int = 1) -> Pow:
        """``base ^ exponent`` for a constant exponent within the limit."""
        if not (abs(exponent) <= self.limits.max_exponent):
            raise FormulaLimitError(f"exponents are limited to ±{self.limits.max_exponent:g}", col)
        return Pow(base, float(exponent), **self._meta(col, base.start, base.shape, base))

    def transpose(self, operand: Node, col: int = 1) -> Transpose:
        """``operandᵀ``."""
        shape = operand.shape
        if shape is not None and len(shape) == 2:
            shape = (shape[1], shape[0])
        return Transpose(operand, **self._meta(col, operand.start, shape, operand))

    @staticmethod
    def _check_axes(name: str, args: tuple[Node, ...]) -> None:
        """Refuse an axis argument that is not the literal 0 or 1."""
        for position in BUILTINS[name].axis_args:
            if position < len(args):
                axis = args[position]
                if not (isinstance(axis, Number) and axis.value in (0.0, 1.0)):
                    raise FormulaSyntaxError(
                        f"the axis of {name} is 0 (down the rows) or 1 (across the "
                        f"columns): write {name}(A, 0) or {name}(A, 1)",
                        axis.start,
                    )

    def call(self, name: str, args: tuple[Node, ...], prime: bool = False, col: int = 1) -> Node:
        """``name(args)`` or ``name'(args)``; ``transpose(A)`` becomes a Transpose node.

        Raises FormulaSyntaxError for a wrong number of arguments or an axis that is not
        the literal 0 or 1.
        """
        if name == TRANSPOSE_FUNCTION and not prime:
            if len(args) != 1:
                raise FormulaSyntaxError("transpose takes one argument: transpose(A)", col)
            return self.transpose(args[0], col)
        if name in OPERATOR_FUNCTIONS and not prime and self.ns.is_builtin(name):
            if len(args) != 2:
                raise FormulaSyntaxError(f"{name} takes 2 arguments: write {name}(A, B)", col)
            return self.binop(OPERATOR_FUNCTIONS[name], args[0], args[1], col, name)
        try:
            low, high = self.ns.arity(name)
        except KeyError:
            low, high = 0, len(args)  # unknown function: reported by the lexer
        if not low <= len(args) <= high:
            usage = BUILTINS[name].usage if self.ns.is_builtin(name) else f"{name}(...)"
            count = f"{low}" if low == high else f"{low} to {high}"
            raise FormulaSyntaxError(
                f"{name} takes {count} argument{'s' if high > 1 else ''}, got {len(args)}: "
                f"write {usage}",
                col,
            )
        if self.ns.is_builtin(name):
            self._check_axes(name, args)
        shape = static_call_shape(name, prime, tuple(a.shape for a in args), self._activations)
        sized = [a for a in args if isinstance(a, Size | Number)]
        if name in ("ones", "eye") and len(sized) == len(args):
            dims = tuple(a.name if isinstance(a, Size) else int(a.value) for a in sized)
            if all(isinstance(a, Size) or a.value == int(a.value) for a in sized):
                shape = (dims[0], dims[0]) if name == "eye" else (dims + (1,))[:2]
        return Call(name, tuple(args), prime, **self._meta(col, col, shape, *args))
