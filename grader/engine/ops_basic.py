"""Linear ops: arithmetic, matrix products, transposes, reductions and constant builders.

Each op checks shapes, computes its value with numpy, and beside it states its backward rule
per input (``vjps``: upstream gradient g -> gradient contribution) and its forward rule per
input (``jvps``: input tangent t -> output tangent), both written with engine ops so they can
be recorded and differentiated again. A rule returning None contributes zero.

Shapes are strict: elementwise ops take equal shapes or a scalar (shape ()) on one side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from grader.engine.tensor import (
    EngineError,
    EngineShapeError,
    SymDim,
    Tensor,
    as_tensor,
    result,
)


def _fmt(shape: tuple[Any, ...]) -> str:
    return "scalar" if shape == () else "(" + "×".join(str(s) for s in shape) + ")"


def _merge_sym(a: Tensor, b: Tensor, op: str) -> tuple[SymDim, ...]:
    """The symbolic shape of two operands of equal numeric shape (a symbol beats an int)."""
    dims: list[SymDim] = []
    for x, y in zip(a.sym_shape, b.sym_shape, strict=True):
        if isinstance(x, int):  # a numeric size: take the other side's symbol
            dims.append(y)
        elif isinstance(y, int) or x == y or sympy.expand(x - y) == 0:
            dims.append(x)
        else:
            raise EngineShapeError(
                f"{op}: symbolic shapes {_fmt(a.sym_shape)} and {_fmt(b.sym_shape)} differ"
            )
    return tuple(dims)


def _elementwise(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor, tuple[SymDim, ...]]:
    """Check an elementwise pair; return the tensors and the symbolic shape of the result."""
    a, b = as_tensor(a), as_tensor(b)
    if a.shape == b.shape:
        return a, b, _merge_sym(a, b, op)
    if a.shape == ():
        return a, b, b.sym_shape
    if b.shape == ():
        return a, b, a.sym_shape
    hint = " (for a matrix product use matmul / @)" if op == "mul" else ""
    raise EngineShapeError(
        f"{op} is elementwise: shapes {_fmt(a.shape)} and {_fmt(b.shape)} do not match; "
        f"it needs equal shapes or a scalar on one side{hint}"
    )


def _fit(g: Tensor | None, like: Tensor) -> Tensor | None:
    """Sum a gradient down to a scalar operand's shape (the backward of broadcasting)."""
    if g is None or g.shape == like.shape:
        return g
    return sum(g)


def _spread(t: Tensor | None, out: Tensor) -> Tensor | None:
    """Broadcast a scalar tangent up to the output's shape (the forward of broadcasting)."""
    if t is None or t.shape == out.shape:
        return t
    return expand(t, out.shape, out.sym_shape)


def _ones(rows: SymDim, cols: SymDim, m: int, n: int) -> Tensor:
    t = Tensor(np.ones((m, n)), constant=True)
    t.sym_shape = (rows, cols)
    t.attrs["kind"] = "ones"
    return t


# -- arithmetic -------------------------------------------------------------------------
def add(a: Any, b: Any) -> Tensor:
    """a + b, elementwise (equal shapes or a scalar on one side)."""
    a, b, sym = _elementwise(a, b, "add")
    out = result("add", a.value + b.value, (a, b), sym)
    out.vjps = (lambda g: _fit(g, a), lambda g: _fit(g, b))
    out.jvps = (lambda t: _spread(t, out), lambda t: _spread(t, out))
    return out


def sub(a: Any, b: Any) -> Tensor:
    """a − b, elementwise."""
    a, b, sym = _elementwise(a, b, "sub")
    out = result("sub", a.value - b.value, (a, b), sym)
    out.vjps = (lambda g: _fit(g, a), lambda g: _fit(neg(g), b))
    out.jvps = (lambda t: _spread(t, out), lambda t: _spread(neg(t), out))
    return out


def neg(a: Any) -> Tensor:
    """−a."""
    a = as_tensor(a)
    out = result("neg", -a.value, (a,), a.sym_shape)
    out.vjps = (lambda g: neg(g),)
    out.jvps = (lambda t: neg(t),)
    return out


def mul(a: Any, b: Any) -> Tensor:
    """a ⊙ b, elementwise (a scalar on one side scales the other)."""
    a, b, sym = _elementwise(a, b, "mul")
    value = a.value * b.value
    out = result("mul", value, (a, b), sym, mults=(value.size, sym) if sym else None)
    out.vjps = (lambda g: _fit(g * b, a), lambda g: _fit(g * a, b))
    out.jvps = (lambda t: t * b, lambda t: a * t)
    return out


def div(a: Any, b: Any) -> Tensor:
    """a / b, elementwise."""
    a, b, sym = _elementwise(a, b, "div")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = a.value / b.value
    out = result("div", value, (a, b), sym)
    out.vjps = (lambda g: _fit(g / b, a), lambda g: _fit(neg(g * out) / b, b))
    out.jvps = (lambda t: t / b, lambda t: neg(t * out) / b)
    return out


def _exponent(p: Any) -> float:
    if isinstance(p, Tensor):
        if not p.is_constant or p.shape != ():
            raise EngineError("pow needs a constant number as its exponent")
        return p.item()
    try:
        return float(p)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"pow needs a constant number as its exponent, not {p!r}") from exc


def pow(a: Any, p: Any) -> Tensor:  # the formula language's name
    """a ** p elementwise, for a constant exponent p (a number or a constant scalar leaf)."""
    a, p = as_tensor(a), _exponent(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = a.value**p
    out = result("pow", value, (a,), a.sym_shape, attrs={"exponent": p})

    def slope() -> Tensor:
        return p * a ** (p - 1.0)

    out.vjps = (lambda g: None if p == 0 else g if p == 1 else g * slope(),)
    out.jvps = (lambda t: None if p == 0 else t if p == 1 else t * slope(),)
    return out


def matmul(a: Any, b: Any) -> Tensor:
    """The matrix product a @ b of an (m, k) and a (k, n) matrix."""
    a, b = as_tensor(a), as_tensor(b)
    if a.shape == () or b.shape == ():
        raise EngineShapeError("matmul needs two matrices; to scale by a scalar use *")
    if a.shape[1] != b.shape[0]:
        raise EngineShapeError(
            f"matmul: inner sizes differ: {_fmt(a.shape)} @ {_fmt(b.shape)}; "
            "the columns of the left must equal the rows of the right"
        )
    m, k = a.shape
    n = b.shape[1]
    out = result(
        "matmul",
        a.value @ b.value,
        (a, b),
        (a.sym_shape[0], b.sym_shape[1]),
        flops=2 * m * k * n,
        mults=(m * k * n, (a.sym_shape[0], a.sym_shape[1], b.sym_shape[1])),
    )
    out.vjps = (lambda g: g @ b.T, lambda g: a.T @ g)
    out.jvps = (lambda t: t @ b, lambda t: a @ t)
    return out


def transpose(a: Any) -> Tensor:
    """The transpose (a scalar is its own transpose)."""
    a = as_tensor(a)
    out = result("transpose", a.value.T.copy(), (a,), a.sym_shape[::-1], flops=0)
    out.vjps = (lambda g: transpose(g),)
    out.jvps = (lambda t: transpose(t),)
    return out


def identity(a: Any) -> Tensor:
    """The same value as a new node (used to give an already named node a second name)."""
    a = as_tensor(a)
    out = result("identity", a.value.copy(), (a,), a.sym_shape, flops=0)
    out.vjps = (lambda g: g,)
    out.jvps = (lambda t: t,)
    return out


def expand(a: Any, shape: tuple[int, ...], sym_shape: tuple[SymDim, ...] | None = None) -> Tensor:
    """A scalar repeated to fill ``shape`` (explicit broadcasting; the backward sums)."""
    a = as_tensor(a)
    if a.shape != ():
        raise EngineShapeError(f"expand takes a scalar, not {_fmt(a.shape)}")
    out = result("expand", np.full(shape, a.value), (a,), sym_shape or tuple(shape))
    out.vjps = (lambda g: sum(g),)
    out.jvps = (lambda t: expand(t, shape, out.sym_shape),)
    return out


def add_bias(a: Any, b: Any) -> Tensor:
    """a + b 1ᵀ: a column b (m, 1) added to every column of a (m, n); graph label ``add``."""
    a, b = as_tensor(a), as_tensor(b)
    if a.shape == b.shape:
        return add(a, b)
    if len(a.shape) != 2 or b.shape != (a.shape[0], 1):
        raise EngineShapeError(
            f"add_bias adds a column (m×1) to each column of an (m×n) matrix; "
            f"got {_fmt(a.shape)} and {_fmt(b.shape)}"
        )
    n = a.shape[1]
    out = result("add_bias", a.value + b.value, (a, b), a.sym_shape)
    out.vjps = (lambda g: g, lambda g: sum(g, axis=1))
    out.jvps = (lambda t: t, lambda t: t @ _ones(1, a.sym_shape[1], 1, n))
    return out


# -- reductions -------------------------------------------------------------------------
def _axis(a: Tensor, axis: Any, op: str) -> int | None:
    if axis is None:
        return None
    if axis not in (0, 1) or isinstance(axis, bool):
        raise EngineError(f"{op}: axis is None, 0 (down the columns) or 1 (along the rows)")
    if a.shape == ():
        raise EngineShapeError(f"{op}: a scalar has no axis {axis}")
    return int(axis)


def _reduced_sym(a: Tensor, axis: int | None) -> tuple[SymDim, ...]:
    if axis is None:
        return ()
    return (1, a.sym_shape[1]) if axis == 0 else (a.sym_shape[0], 1)


def _unreduce(g: Tensor, a: Tensor, axis: int | None) -> Tensor:
    """Repeat a reduced gradient back over the reduced axis (with ones, so it stays an op)."""
    if axis is None:
        return g if a.shape == () else expand(g, a.shape, a.sym_shape)
    m, n = a.shape
    if axis == 0:
        return _ones(a.sym_shape[0], 1, m, 1) @ g
    return g @ _ones(1, a.sym_shape[1], 1, n)


def sum(a: Any, axis: int | None = None) -> Tensor:  # the formula language's name
    """The sum of all entries (a scalar), or down axis 0 (a 1×n row) or along axis 1 (m×1)."""
    a = as_tensor(a)
    axis = _axis(a, axis, "sum")
    value = a.value.sum() if axis is None else a.value.sum(axis=axis, keepdims=True)
    out = result("sum", value, (a,), _reduced_sym(a, axis), flops=a.size, attrs={"axis": axis})
    out.vjps = (lambda g: _unreduce(g, a, axis),)
    out.jvps = (lambda t: sum(t, axis),)
    return out


def mean(a: Any, axis: int | None = None) -> Tensor:
    """The mean of all entries, or down axis 0 (1×n) or along axis 1 (m×1)."""
    a = as_tensor(a)
    axis = _axis(a, axis, "mean")
    count = a.size if axis is None else a.shape[axis]
    value = a.value.mean() if axis is None else a.value.mean(axis=axis, keepdims=True)
    out = result("mean", value, (a,), _reduced_sym(a, axis), flops=a.size, attrs={"axis": axis})
    out.vjps = (lambda g: _unreduce(g, a, axis) / float(count),)
    out.jvps = (lambda t: mean(t, axis),)
    return out


def scalar(a: Any) -> Tensor:
    """A one-element tensor, such as the 1×1 result of xᵀy, as a shape-() scalar."""
    a = as_tensor(a)
    if a.size != 1:
        raise EngineShapeError(f"scalar() needs one element; shape is {_fmt(a.shape)}")
    out = result("scalar", a.value.reshape(()), (a,), (), flops=0)
    out.vjps = (lambda g: g if a.shape == () else expand(g, a.shape, a.sym_shape),)
    out.jvps = (lambda t: scalar(t),)
    return out


# -- matrix builders --------------------------------------------------------------------
def diag(a: Any) -> Tensor:
    """A column (d, 1) -> the diagonal matrix (d, d); a square (d, d) -> its diagonal (d, 1)."""
    a = as_tensor(a)
    if len(a.shape) == 2 and a.shape[1] == 1:
        value, sym = np.diag(a.value[:, 0]), (a.sym_shape[0], a.sym_shape[0])
    elif len(a.shape) == 2 and a.shape[0] == a.shape[1]:
        value, sym = np.diag(a.value).reshape(-1, 1), (a.sym_shape[0], 1)
    else:
        raise EngineShapeError(f"diag takes a column (d×1) or a square matrix, not {_fmt(a.shape)}")
    out = result("diag", value, (a,), sym)
    out.vjps = (lambda g: diag(g),)
    out.jvps = (lambda t: diag(t),)
    return out


def outer(a: Any, b: Any) -> Tensor:
    """The outer product a bᵀ of two columns (m, 1) and (n, 1): an (m, n) matrix."""
    a, b = as_tensor(a), as_tensor(b)
    if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != 1 or b.shape[1] != 1:
        raise EngineShapeError(f"outer takes two columns, not {_fmt(a.shape)} and {_fmt(b.shape)}")
    sym = (a.sym_shape[0], b.sym_shape[0])
    value = a.value @ b.value.T
    out = result("outer", value, (a, b), sym, mults=(value.size, sym))
    out.vjps = (lambda g: g @ b, lambda g: g.T @ a)
    out.jvps = (lambda t: outer(t, b), lambda t: outer(a, t))
    return out


def trace(a: Any) -> Tensor:
    """The trace of a square matrix (a scalar)."""
    a = as_tensor(a)
    if len(a.shape) != 2 or a.shape[0] != a.shape[1]:
        raise EngineShapeError(f"trace takes a square matrix, not {_fmt(a.shape)}")
    out = result("trace", np.trace(a.value), (a,), (), flops=a.shape[0])
    out.vjps = (lambda g: g * eye(a.shape[0], a.sym_shape[0]),)
    out.jvps = (lambda t: trace(t),)
    return out


def eye(n: int, symbol: Any = None) -> Tensor:
    """The n×n identity matrix, a constant (``symbol`` names its size for memory accounting)."""
    n = _size(n, "eye")
    t = Tensor(np.eye(n), constant=True, shape_symbols=None if symbol is None else (symbol, symbol))
    t.attrs["kind"] = "eye"
    return t


def ones(m: int, n: int = 1, symbols: tuple[Any, Any] | None = None) -> Tensor:
    """An m×n matrix of ones, a constant (``ones(d)`` is the column of d ones)."""
    m, n = _size(m, "ones"), _size(n, "ones")
    t = Tensor(np.ones((m, n)), constant=True, shape_symbols=symbols)
    t.attrs["kind"] = "ones"
    return t


def _size(n: Any, op: str) -> int:
    if isinstance(n, Tensor):
        n = n.item()
    if float(n) != int(n) or int(n) < 1:
        raise EngineError(f"{op}: a size is a positive whole number, not {n!r}")
    return int(n)
