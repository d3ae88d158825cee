"""The node class of the engine, its errors, and the bookkeeping every op shares.

One class, :class:`Tensor`, is both a leaf (an input or parameter) and the result of an op.
An op result keeps its ``parents`` and, per parent, a backward rule (``vjps``: upstream
gradient -> contribution to that parent's gradient) and a forward rule (``jvps``: that parent's
tangent -> contribution to the result's tangent). Rules are written with engine ops, so a
backward pass can itself be recorded and differentiated again.

Values are float64 numpy arrays of shape ``()`` (a scalar) or ``(m, n)`` (a matrix; a vector of
size d is the column ``(d, 1)``). A 1-D input becomes a column; more than two axes is an error.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import sympy

Rule = Callable[["Tensor"], "Tensor | None"]
SymDim: TypeAlias = int | sympy.Expr


def sym_size(value: int | sympy.Expr) -> sympy.Expr:
    """Return a size (an int or a sympy expression in size symbols) as a sympy expression.

    Never parses text: a string here is a programming error, not something to evaluate.
    """
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, int | np.integer):
        return sympy.Integer(int(value))
    raise TypeError(f"a size is an int or a sympy expression, not {type(value).__name__}")


class EngineError(Exception):
    """Any error raised by the engine for a model it cannot build or differentiate."""


class EngineShapeError(EngineError, ValueError):
    """Operands whose shapes an op does not accept (no silent broadcasting)."""


class UnsupportedOpError(EngineError, KeyError):
    """An op name the engine does not implement."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass
class Cost:
    """Elementary ops executed while a :func:`counting` block was active.

    ``ops`` counts op applications (one per node the engine computes, recorded or not);
    ``flops`` is a rough floating-point operation count (a matmul of (m,k) by (k,n) is 2mkn,
    an elementwise op or a reduction one per element, a transpose 0); ``by_op`` splits ``ops``
    by op name. ``mults`` counts the multiplications of numbers that products of arrays
    performed: mkn for a matmul of (m,k) by (k,n), one per entry for an elementwise product,
    a scaling of an array by a scalar or an outer product; a product of two scalars (a result
    of shape ()) counts none. ``mult_shapes`` keeps, per product, the symbolic sizes whose
    product is its count, so ``sym_mults`` is the count in the leaves' size symbols.
    """

    ops: int = 0
    flops: int = 0
    by_op: Counter = field(default_factory=Counter)
    mults: int = 0
    mult_shapes: Counter = field(default_factory=Counter)

    @property
    def sym_mults(self) -> sympy.Expr:
        """The multiplications as a sympy expression in the leaves' size symbols."""
        return sympy.Add(
            *[
                count * sympy.Mul(*[sym_size(d) for d in dims])
                for dims, count in self.mult_shapes.items()
            ]
        )

    def add(self, other: Cost) -> None:
        """Add ``other``'s counts to this one."""
        self.ops += other.ops
        self.flops += other.flops
        self.by_op.update(other.by_op)
        self.mults += other.mults
        self.mult_shapes.update(other.mult_shapes)


class _State(threading.local):
    """Per-thread switches: recording on/off, active cost counters, the read tracer."""

    def __init__(self) -> None:
        self.recording = True
        self.counters: list[Cost] = []
        self.read_tracer: Callable[[Tensor], None] | None = None


_STATE = _State()
_IDS = itertools.count()


@contextmanager
def counting() -> Iterator[Cost]:
    """Count the elementary ops executed inside the block; yields the :class:`Cost`."""
    cost = Cost()
    _STATE.counters.append(cost)
    try:
        yield cost
    finally:
        # by identity: a nested counter with the same counts is equal to this one
        _STATE.counters[:] = [c for c in _STATE.counters if c is not cost]


@contextmanager
def recording(enabled: bool) -> Iterator[None]:
    """Switch graph recording on or off inside the block (off: results have no parents)."""
    previous = _STATE.recording
    _STATE.recording = enabled
    try:
        yield
    finally:
        _STATE.recording = previous


@contextmanager
def tracing_reads(callback: Callable[[Tensor], None]) -> Iterator[None]:
    """Call ``callback(t)`` for every tensor an op reads inside the block (memory accounting)."""
    previous = _STATE.read_tracer
    _STATE.read_tracer = callback
    try:
        yield
    finally:
        _STATE.read_tracer = previous


def as_array(value: Any) -> np.ndarray:
    """Return ``value`` as a float64 array of shape () or (m, n); 1-D becomes a column.

    Raises EngineShapeError for more than two axes and EngineError for non-numeric input.
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"not a numeric array: {exc}") from exc
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    elif arr.ndim > 2:
        raise EngineShapeError(
            f"arrays have at most two axes (scalars, column vectors, matrices); got {arr.shape}"
        )
    return arr


def size_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol the engine uses for a size name: positive and integer."""
    return sympy.Symbol(name, positive=True, integer=True)


def _symbols(shape: tuple[int, ...], symbols: Sequence[Any] | None) -> tuple[SymDim, ...]:
    if symbols is None:
        return tuple(shape)
    if len(symbols) != len(shape):
        raise EngineShapeError(f"shape symbols {tuple(symbols)} do not match shape {shape}")
    out: list[SymDim] = []
    for sym in symbols:
        if isinstance(sym, str):
            out.append(size_symbol(sym))
        elif isinstance(sym, int | sympy.Expr):
            out.append(sym)
        else:
            raise EngineError(f"a shape symbol is a name, an int or a sympy expression: {sym!r}")
    return tuple(out)


class Tensor:
    """A node of the computational graph: a leaf or the result of an op.

    ``Tensor(value, name="x", shape_symbols=("d", "n"))`` makes a leaf; ops make the rest.
    ``shape_symbols`` gives the leaf a symbolic shape for memory accounting (defaults to the
    numeric shape). Arithmetic operators (``+ - * / ** @``, unary ``-``, ``.T``) call the ops of
    the same names; ``*`` and ``/`` are elementwise.
    """

    __slots__ = (
        "value",
        "name",
        "op",
        "parents",
        "vjps",
        "jvps",
        "attrs",
        "sym_shape",
        "is_constant",
        "id",
        "work",
    )

    def __init__(
        self,
        value: Any,
        name: str | None = None,
        *,
        shape_symbols: Sequence[Any] | None = None,
        constant: bool = False,
    ) -> None:
        self.value = as_array(value)
        self.name = name
        self.op: str | None = None
        self.parents: tuple[Tensor, ...] = ()
        self.vjps: tuple[Rule, ...] = ()
        self.jvps: tuple[Rule, ...] = ()
        self.attrs: dict[str, Any] = {}
        self.sym_shape = _symbols(self.value.shape, shape_symbols)
        self.is_constant = constant
        self.id = next(_IDS)
        self.work = 0

    # -- description -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The numeric shape: () or (m, n)."""
        return self.value.shape

    @property
    def size(self) -> int:
        """The number of floats in the value."""
        return int(self.value.size)

    @property
    def is_leaf(self) -> bool:
        """True for inputs, parameters and constants (no op made it)."""
        return self.op is None

    @property
    def label(self) -> str:
        """The name if it has one, else the op name, else the constant's kind (ones, eye...)."""
        if self.name or self.op:
            return self.name or self.op or ""
        return self.attrs.get("kind", "const") if self.is_constant else f"t{self.id}"

    def named(self, name: str) -> Tensor:
        """Give this node a name (returns it); a node already named gets a named copy ("id")."""
        if self.name is None or self.name == name:
            self.name = name
            return self
        from grader.engine.ops_basic import identity

        return identity(self).named(name)

    def item(self) -> float:
        """The value of a one-element tensor as a float."""
        if self.value.size != 1:
            raise EngineShapeError(f"item() needs one element; shape is {self.shape}")
        return float(self.value.reshape(()))

    def numpy(self) -> np.ndarray:
        """A copy of the value."""
        return self.value.copy()

    def __repr__(self) -> str:
        what = self.op or ("const" if self.is_constant else "leaf")
        name = f" {self.name!r}" if self.name else ""
        return f"<Tensor{name} {what} shape={self.shape}>"

    # -- operators ---------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops().add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops().add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops().sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops().sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops().mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops().mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops().div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops().div(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return _ops().pow(self, exponent)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops().matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops().neg(self)

    @property
    def T(self) -> Tensor:  # numpy's spelling
        """The transpose (an op)."""
        return _ops().transpose(self)


def _ops() -> Any:
    """The ops module, imported on first use (it imports this one)."""
    global _OPS_MODULE
    if _OPS_MODULE is None:
        from grader.engine import ops_basic

        _OPS_MODULE = ops_basic
    return _OPS_MODULE


_OPS_MODULE: Any = None


def leaf(value: Any, name: str | None = None, shape_symbols: Sequence[Any] | None = None) -> Tensor:
    """Return a named input or parameter: ``leaf(np.zeros((3, 1)), "b1", ("h", 1))``."""
    return Tensor(value, name, shape_symbols=shape_symbols)


def const(value: Any) -> Tensor:
    """Return an unnamed constant leaf (a number becomes a shape-() scalar)."""
    return Tensor(value, constant=True)


def as_tensor(value: Any) -> Tensor:
    """Return ``value`` itself if it is a Tensor, else a constant leaf holding it."""
    return value if isinstance(value, Tensor) else const(value)


def result(
    op: str,
    value: np.ndarray,
    parents: Sequence[Tensor],
    sym_shape: tuple[SymDim, ...],
    *,
    flops: int | None = None,
    attrs: dict[str, Any] | None = None,
    mults: tuple[int, tuple[SymDim, ...]] | None = None,
) -> Tensor:
    """Make the node for one op application and count it; the caller sets vjps and jvps.

    Every op goes through here, so this is where cost counting and read tracing happen.
    ``mults`` is (count, symbolic sizes whose product is the count) for an op that multiplies
    numbers (see :class:`Cost`). With recording off the node keeps no parents (it is a
    constant of the graph).
    """
    out = Tensor.__new__(Tensor)
    out.value = np.asarray(value, dtype=np.float64)
    out.name = None
    out.op = op
    out.attrs = attrs or {}
    out.sym_shape = sym_shape
    out.is_constant = False
    out.id = next(_IDS)
    out.vjps = ()
    out.jvps = ()
    out.parents = tuple(parents) if _STATE.recording else ()
    out.work = int(out.value.size if flops is None else flops)
    tracer = _STATE.read_tracer
    if tracer is not None:
        for parent in parents:
            tracer(parent)
    for cost in _STATE.counters:
        cost.ops += 1
        cost.flops += out.work
        cost.by_op[op] += 1
        if mults is not None:
            cost.mults += mults[0]
            cost.mult_shapes[mults[1]] += 1
    return out


def ancestors(roots: Sequence[Tensor]) -> list[Tensor]:
    """All nodes the roots depend on (roots included), in a topological order (parents first).

    Iterative: creation order is a topological order, so the nodes found by an explicit-stack
    walk are sorted by their creation id.
    """
    seen: dict[int, Tensor] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen[node.id] = node
        stack.extend(p for p in node.parents if p.id not in seen)
    return [seen[k] for k in sorted(seen)]
