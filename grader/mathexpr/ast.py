"""The syntax tree of a formula: small frozen dataclasses.

Equality compares the mathematics only: the source column of the node's operator or name
(``col``) and of its first character (``start``), the operator as
written (``symbol``), the statically known shape (``shape``) and the tree depth
(``depth``) are carried along but ignored by ``==``, so ``A @ B`` and ``A·B`` give equal
trees.

Products: ``@`` is the matrix product, ``*`` the elementwise (Hadamard) product, which is
also how a scalar multiplies anything.  A juxtaposition (``W2ᵀ g``, ``2(o - y)``), ``×`` or
``·`` becomes ``*`` when one side is statically known to be a scalar, ``@`` when both sides
are statically known to be arrays, and otherwise the undecided ``product`` that the
evaluator resolves with the actual values (a scalar side: scalar product; else ``@``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

Dim = str | int  # a size name ("h") or a number
StaticShape = tuple[Dim, ...]  # () scalar, (m, n) matrix; vectors are (d, 1) columns

ADD, SUB, MUL, DIV, MATMUL, PRODUCT = "+", "-", "*", "/", "@", "product"
BINARY_OPS = (ADD, SUB, MUL, DIV, MATMUL, PRODUCT)


@dataclass(frozen=True)
class Node:
    """Base of every node; the keyword-only fields are metadata, not compared."""

    col: int = field(default=1, compare=False, kw_only=True, repr=False)
    start: int = field(default=1, compare=False, kw_only=True, repr=False)
    shape: StaticShape | None = field(default=None, compare=False, kw_only=True, repr=False)
    depth: int = field(default=1, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Number(Node):
    """A non-negative finite literal (a minus sign is a ``Neg``)."""

    value: float


@dataclass(frozen=True)
class Name(Node):
    """A variable or model quantity, by its canonical name (aliases already resolved)."""

    name: str


@dataclass(frozen=True)
class Size(Node):
    """A size name used as a number, only inside ``ones(...)`` and ``eye(...)``."""

    name: str


@dataclass(frozen=True)
class Neg(Node):
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinOp(Node):
    """``left op right`` with ``op`` one of ``+ - * / @ product``; ``symbol`` is the
    operator as the author wrote it (``⊙``, ``·``, a space for juxtaposition)."""

    op: str
    left: Node
    right: Node
    symbol: str = field(default="", compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Pow(Node):
    """Elementwise power by a constant exponent."""

    base: Node
    exponent: float


@dataclass(frozen=True)
class Transpose(Node):
    """``Aᵀ``; a scalar's transpose is itself."""

    operand: Node


@dataclass(frozen=True)
class Call(Node):
    """A function applied to arguments; ``prime`` marks the derivative (``phi'(z)``)."""

    name: str
    args: tuple[Node, ...]
    prime: bool = False


def children(node: Node) -> tuple[Node, ...]:
    """Return the direct sub-formulas of ``node``, left to right."""
    if isinstance(node, Neg | Transpose):
        return (node.operand,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Pow):
        return (node.base,)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield every node of the tree in pre-order, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def names_used(node: Node) -> frozenset[str]:
    """Return the canonical names of the variables the formula reads."""
    return frozenset(n.name for n in walk(node) if isinstance(n, Name))


def functions_used(node: Node) -> frozenset[str]:
    """Return the functions the formula calls, derivatives spelled with a prime (``phi'``)."""
    return frozenset(n.name + ("'" if n.prime else "") for n in walk(node) if isinstance(n, Call))
