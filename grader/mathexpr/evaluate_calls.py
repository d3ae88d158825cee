"""The built-in functions at evaluation time, with their shape rules and costs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .ast import Call
from .errors import FormulaError, FormulaShapeError
from .functions import ELEMENTWISE

if TYPE_CHECKING:
    from .evaluate import Evaluator


def _shape_error(ev: Evaluator, node: Call, message: str, args: list[np.ndarray]) -> None:
    raise FormulaShapeError(message, node.col, node.name, tuple(a.shape for a in args))


def _is_vector(a: np.ndarray) -> bool:
    return a.ndim == 2 and 1 in a.shape


def _dimension(ev: Evaluator, node: Call, value: np.ndarray, position: int) -> int:
    limit = ev.limits.max_dim
    number = float(value) if value.ndim == 0 else float("nan")
    if not (number == int(number) if np.isfinite(number) else False) or not 1 <= number <= limit:
        raise FormulaError(
            f"{node.name} needs whole numbers from 1 to {limit} as sizes", node.args[position].start
        )
    return int(number)


def _arrangements(a: np.ndarray, b: np.ndarray) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """The products prod may mean, in the order tried: None is the elementwise product (two
    vectors of one shape), a pair is a matrix product of those (transposed) arguments."""
    found: list[tuple[np.ndarray, np.ndarray] | None] = []
    if a.shape == b.shape and _is_vector(a):
        found.append(None)
    for left, right in ((a, b), (a, b.T), (b.T, a), (a.T, b), (b, a), (b, a.T), (a.T, b.T)):
        if left.shape[1] == right.shape[0]:
            found.append((left, right))
    return found


def _prod(
    ev: Evaluator, node: Call, a: np.ndarray, b: np.ndarray, want: tuple[int, ...] | None
) -> np.ndarray:
    """The chapter's prod: the product of the two arguments, transposed and swapped as
    needed. Of the arrangements that fit, the one whose result has the shape the context
    needs (``want``: the part's shape, or the other side of a sum) is taken, else the
    first in a fixed order."""
    if a.ndim == 0 or b.ndim == 0:
        ev.charge(max(a.size, b.size), max(a.size, b.size), node.col)
        return a * b
    options = _arrangements(a, b)
    if not options:
        _shape_error(ev, node, f"prod: no product of {ev.shape(a)} and {ev.shape(b)} fits", [a, b])
    chosen = options[0]
    if want is not None:
        for option in options:
            shape = a.shape if option is None else (option[0].shape[0], option[1].shape[1])
            if shape == want:
                chosen = option
                break
    if chosen is None:
        ev.charge(a.size, a.size, node.col)
        return a * b
    left, right = chosen
    m, k = left.shape
    n = right.shape[1]
    ev.charge(m * n, m * k * n, node.col)
    return left @ right


def _dot(ev: Evaluator, node: Call, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy's dot: a scalar product, a matrix product, or for two vectors of one shape
    their inner product (as a 1×1 matrix)."""
    if a.ndim == 0 or b.ndim == 0:
        ev.charge(max(a.size, b.size), max(a.size, b.size), node.col)
        return a * b
    if a.shape[1] != b.shape[0] and a.shape == b.shape and _is_vector(a):
        a = a.T if a.shape[1] == 1 else a
        b = b.T if b.shape[0] == 1 else b
    if a.shape[1] != b.shape[0]:
        _shape_error(
            ev,
            node,
            f"dot is a matrix product here: {ev.shape(a)} times {ev.shape(b)} needs the "
            "columns of the first to match the rows of the second; for an outer product "
            "write outer(u, v) or u vᵀ",
            [a, b],
        )
    ev.charge(a.shape[0] * b.shape[1], a.size * b.shape[1], node.col)
    return a @ b


def call_builtin(
    ev: Evaluator, node: Call, args: list[np.ndarray], want: tuple[int, ...] | None = None
) -> np.ndarray:
    """Evaluate a built-in function call (``want``: the shape the context needs, which
    ``prod`` follows); raises FormulaShapeError or FormulaError."""
    name = node.name
    first = args[0]
    if name in ELEMENTWISE:
        function, derivative = ELEMENTWISE[name]
        ev.charge(first.size, 10 * first.size, node.col)
        return np.asarray((derivative if node.prime else function)(first), np.float64)
    if name in ("sum", "mean"):
        ev.charge(1, first.size, node.col)
        reduce = np.sum if name == "sum" else np.mean
        if len(args) == 1 or first.ndim == 0:
            return np.asarray(reduce(first))
        return reduce(first, axis=int(args[1]), keepdims=True)
    if name == "norm":
        ev.charge(1, 2 * first.size, node.col)
        return np.asarray(np.sqrt(np.sum(first * first)))
    if name == "trace":
        if first.ndim != 2 or first.shape[0] != first.shape[1]:
            _shape_error(ev, node, f"trace needs a square matrix, got {ev.shape(first)}", args)
        ev.charge(1, first.shape[0], node.col)
        return np.asarray(np.trace(first))
    if name == "diag":
        if _is_vector(first):
            n = first.size
            ev.charge(n * n, n * n, node.col)
            return np.diagflat(first)
        if first.ndim == 2 and first.shape[0] == first.shape[1]:
            ev.charge(first.shape[0], first.shape[0], node.col)
            return np.diag(first).reshape(-1, 1).copy()
        _shape_error(
            ev, node, f"diag needs a vector or a square matrix, got {ev.shape(first)}", args
        )
    if name == "outer":
        u, v = args
        if not (_is_vector(u) and _is_vector(v)):
            _shape_error(
                ev, node, f"outer needs two vectors, got {ev.shape(u)} and {ev.shape(v)}", args
            )
        ev.charge(u.size * v.size, u.size * v.size, node.col)
        return u.reshape(-1, 1) @ v.reshape(1, -1)
    if name == "ones":
        dims = [_dimension(ev, node, a, k) for k, a in enumerate(args)]
        shape = (dims[0], dims[1] if len(dims) > 1 else 1)
        ev.charge(shape[0] * shape[1], 0, node.col)
        return np.ones(shape)
    if name == "eye":
        n = _dimension(ev, node, first, 0)
        ev.charge(n * n, 0, node.col)
        return np.eye(n)
    if name == "prod":
        return _prod(ev, node, args[0], args[1], want)
    if name == "dot":
        return _dot(ev, node, args[0], args[1])
    raise FormulaError(f"{name} cannot be evaluated", node.col)
