"""Nonlinear ops: elementwise functions, the activation ``phi`` and its derivative ``dphi``,
the Frobenius norm and penalty, softmax, and the two losses.

Same layout as ``ops_basic``: value with numpy, then the per-input backward rules (``vjps``)
and forward rules (``jvps``) written with engine ops, so that every derivative, including
``dphi``, can be differentiated again. Out-of-domain inputs (log of a negative number) give
nan or inf silently, as numpy does without its warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.engine.ops_basic import _fmt, _ones, sum
from grader.engine.tensor import EngineError, EngineShapeError, Tensor, as_tensor, result


def _unary(op: str, a: Any, compute: Callable[[np.ndarray], np.ndarray], **attrs: Any) -> Tensor:
    a = as_tensor(a)
    with np.errstate(all="ignore"):
        value = compute(a.value)
    return result(op, value, (a,), a.sym_shape, attrs=attrs or None)


def exp(a: Any) -> Tensor:
    """e ** a, elementwise."""
    out = _unary("exp", a, np.exp)
    out.vjps = (lambda g: g * out,)
    out.jvps = (lambda t: t * out,)
    return out


def log(a: Any) -> Tensor:
    """The natural logarithm, elementwise."""
    a = as_tensor(a)
    out = _unary("log", a, np.log)
    out.vjps = (lambda g: g / a,)
    out.jvps = (lambda t: t / a,)
    return out


def sqrt(a: Any) -> Tensor:
    """The square root, elementwise."""
    out = _unary("sqrt", a, np.sqrt)
    out.vjps = (lambda g: g / (2.0 * out),)
    out.jvps = (lambda t: t / (2.0 * out),)
    return out


def sign(a: Any) -> Tensor:
    """−1, 0 or 1 elementwise (derivative zero)."""
    out = _unary("sign", a, np.sign)
    out.vjps = (lambda g: None,)
    out.jvps = (lambda t: None,)
    return out


def step(a: Any) -> Tensor:
    """1 where a > 0, else 0 (the derivative of relu; its own derivative is zero)."""
    out = _unary("step", a, lambda v: (v > 0).astype(np.float64))
    out.vjps = (lambda g: None,)
    out.jvps = (lambda t: None,)
    return out


def abs(a: Any) -> Tensor:  # the formula language's name
    """|a| elementwise (derivative sign(a), taken as 0 at 0)."""
    a = as_tensor(a)
    out = _unary("abs", a, np.abs)
    out.vjps = (lambda g: g * sign(a),)
    out.jvps = (lambda t: t * sign(a),)
    return out


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # no overflow for large |v|


def tanh(a: Any) -> Tensor:
    """tanh elementwise; derivative 1 − tanh²."""
    out = _unary("tanh", a, np.tanh)
    out.vjps = (lambda g: g * (1.0 - out * out),)
    out.jvps = (lambda t: t * (1.0 - out * out),)
    return out


def sigmoid(a: Any) -> Tensor:
    """The logistic function 1 / (1 + e^−a) elementwise; derivative σ(1 − σ)."""
    out = _unary("sigmoid", a, _sigmoid)
    out.vjps = (lambda g: g * (out * (1.0 - out)),)
    out.jvps = (lambda t: t * (out * (1.0 - out)),)
    return out


def relu(a: Any) -> Tensor:
    """max(a, 0) elementwise; derivative step(a) (0 at 0)."""
    a = as_tensor(a)
    out = _unary("relu", a, lambda v: np.maximum(v, 0.0))
    out.vjps = (lambda g: g * step(a),)
    out.jvps = (lambda t: t * step(a),)
    return out


def softplus(a: Any) -> Tensor:
    """log(1 + e^a) elementwise; derivative sigmoid(a)."""
    a = as_tensor(a)
    out = _unary("softplus", a, lambda v: np.logaddexp(0.0, v))
    out.vjps = (lambda g: g * sigmoid(a),)
    out.jvps = (lambda t: t * sigmoid(a),)
    return out


# -- the generic activation -------------------------------------------------------------
def _d2(fn: str, z: Tensor) -> Tensor | None:
    """phi''(z) built from engine ops (None: identically zero)."""
    if fn == "tanh":
        return -2.0 * tanh(z) * dphi(z, "tanh")
    if fn == "sigmoid":
        return dphi(z, "sigmoid") * (1.0 - 2.0 * sigmoid(z))
    if fn == "softplus":
        return dphi(z, "sigmoid")
    return None  # relu: phi' is a step, phi'' is 0 almost everywhere


ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], ...]] = {
    # name: (phi, phi')
    "tanh": (np.tanh, lambda v: 1.0 - np.tanh(v) ** 2),
    "sigmoid": (_sigmoid, lambda v: _sigmoid(v) * (1.0 - _sigmoid(v))),
    "softplus": (lambda v: np.logaddexp(0.0, v), _sigmoid),
    "relu": (lambda v: np.maximum(v, 0.0), lambda v: (v > 0).astype(np.float64)),
}


def _activation(fn: str) -> tuple[Callable[[np.ndarray], np.ndarray], ...]:
    try:
        return ACTIVATIONS[fn]
    except KeyError:
        raise EngineError(
            f"phi is bound to one of {', '.join(sorted(ACTIVATIONS))}, not {fn!r}"
        ) from None


def phi(z: Any, fn: str = "tanh") -> Tensor:
    """The activation bound to ``fn`` (tanh, sigmoid, softplus or relu); graph label ``phi``."""
    z = as_tensor(z)
    out = _unary("phi", z, _activation(fn)[0], fn=fn)
    out.vjps = (lambda g: g * dphi(z, fn),)
    out.jvps = (lambda t: t * dphi(z, fn),)
    return out


def dphi(z: Any, fn: str = "tanh") -> Tensor:
    """phi'(z) for the bound activation, itself differentiable (its derivative is phi'')."""
    z = as_tensor(z)
    out = _unary("dphi", z, _activation(fn)[1], fn=fn)

    def times_d2(u: Tensor) -> Tensor | None:
        d2 = _d2(fn, z)
        return None if d2 is None else u * d2

    out.vjps = (times_d2,)
    out.jvps = (times_d2,)
    return out


# -- norms, softmax, losses -------------------------------------------------------------
def norm(a: Any) -> Tensor:
    """The Frobenius norm ||a|| = sqrt(sum of squares), a scalar (its gradient a/||a||)."""
    a = as_tensor(a)
    out = result("norm", np.sqrt(np.sum(a.value**2)), (a,), (), flops=2 * a.size)
    out.vjps = (lambda g: (g / out) * a,)
    out.jvps = (lambda t: sum(a * t) / out,)
    return out


def penalty(lam: Any, *weights: Any) -> Tensor:
    """The Frobenius penalty lam/2 · (||W1||² + ||W2||² + ...), a scalar."""
    lam = as_tensor(lam)
    ws = tuple(as_tensor(w) for w in weights)
    if lam.shape != ():
        raise EngineShapeError(f"penalty: lam must be a scalar, not {_fmt(lam.shape)}")
    squares = float(np.sum([np.sum(w.value**2) for w in ws]))
    out = result(
        "penalty",
        0.5 * lam.value * squares,
        (lam, *ws),
        (),
        flops=2 * int(np.sum([w.size for w in ws])),
    )

    def half_squares() -> Tensor:
        total = sum(ws[0] * ws[0])
        for w in ws[1:]:
            total = total + sum(w * w)
        return 0.5 * total

    out.vjps = (lambda g: g * half_squares(), *((lambda g, w=w: (g * lam) * w) for w in ws))
    out.jvps = (lambda t: t * half_squares(), *((lambda t, w=w: lam * sum(w * t)) for w in ws))
    return out


def _columns(a: Tensor, op: str) -> None:
    if len(a.shape) != 2:
        raise EngineShapeError(f"{op} works on columns (one example per column); got a scalar")


def _row_spread(row: Tensor, like: Tensor) -> Tensor:
    """A 1×n row repeated down to ``like``'s shape: 1 · row."""
    return _ones(like.sym_shape[0], 1, like.shape[0], 1) @ row


def softmax(o: Any) -> Tensor:
    """The softmax of each column."""
    o = as_tensor(o)
    _columns(o, "softmax")
    shifted = np.exp(o.value - o.value.max(axis=0, keepdims=True))
    out = result("softmax", shifted / shifted.sum(axis=0, keepdims=True), (o,), o.sym_shape)
    out.vjps = (lambda g: out * (g - _row_spread(sum(out * g, 0), g)),)
    out.jvps = (lambda t: out * (t - _row_spread(sum(out * t, 0), t)),)
    return out


def log_softmax(o: Any) -> Tensor:
    """The log of the softmax of each column (computed stably)."""
    o = as_tensor(o)
    _columns(o, "log_softmax")
    top = o.value.max(axis=0, keepdims=True)
    lse = top + np.log(np.exp(o.value - top).sum(axis=0, keepdims=True))
    out = result("log_softmax", o.value - lse, (o,), o.sym_shape)
    out.vjps = (lambda g: g - softmax(o) * _row_spread(sum(g, 0), g),)
    out.jvps = (lambda t: t - _row_spread(sum(softmax(o) * t, 0), t),)
    return out


def squared_loss(o: Any, y: Any) -> Tensor:
    """The chapter's loss l(o, y) = ||o − y||², the sum of squares (no ½); graph label ``l``."""
    o, y = as_tensor(o), as_tensor(y)
    if o.shape != y.shape:
        raise EngineShapeError(f"l(o, y): o is {_fmt(o.shape)} but y is {_fmt(y.shape)}")
    r = o.value - y.value
    out = result("l", np.sum(r * r), (o, y), (), flops=3 * o.size, attrs={"loss": "squared"})
    out.vjps = (lambda g: (2.0 * g) * (o - y), lambda g: (-2.0 * g) * (o - y))
    out.jvps = (lambda t: 2.0 * sum((o - y) * t), lambda t: -2.0 * sum((o - y) * t))
    return out


def cross_entropy(o: Any, y: Any) -> Tensor:
    """Softmax cross-entropy −Σ y ⊙ log softmax(o), columns are examples, summed over them.

    ``y`` holds one target distribution per column (one-hot for class labels). Graph label ``l``.
    """
    o, y = as_tensor(o), as_tensor(y)
    _columns(o, "cross_entropy")
    if o.shape != y.shape:
        raise EngineShapeError(f"cross_entropy: o is {_fmt(o.shape)} but y is {_fmt(y.shape)}")
    top = o.value.max(axis=0, keepdims=True)
    lse = top + np.log(np.exp(o.value - top).sum(axis=0, keepdims=True))
    out = result(
        "cross_entropy",
        -np.sum(y.value * (o.value - lse)),
        (o, y),
        (),
        flops=5 * o.size,
        attrs={"loss": "cross_entropy"},
    )

    def slope() -> Tensor:  # dL/do = softmax(o) · (column sums of y) − y
        return softmax(o) * _row_spread(sum(y, 0), y) - y

    out.vjps = (lambda g: g * slope(), lambda g: g * -log_softmax(o))
    out.jvps = (lambda t: sum(slope() * t), lambda t: sum(-log_softmax(o) * t))
    return out


LOSSES: dict[str, Callable[[Any, Any], Tensor]] = {
    "squared": squared_loss,
    "cross_entropy": cross_entropy,
}


def loss(o: Any, y: Any, kind: str = "squared") -> Tensor:
    """The loss ``l(o, y)`` bound to ``kind``: "squared" (||o − y||²) or "cross_entropy"."""
    if kind not in LOSSES:
        raise EngineError(f"the loss is one of {', '.join(LOSSES)}, not {kind!r}")
    return LOSSES[kind](o, y)
