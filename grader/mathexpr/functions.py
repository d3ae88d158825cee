"""The built-in functions: arity, static shape rule and numpy implementation.

Callers add their own functions (the model's loss ``l(o, y)``, ``grad(J, b2)``, an
activation ``phi`` bound per trial) through the :class:`~grader.mathexpr.Namespace` and
supply implementations when evaluating.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .ast import StaticShape


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Two branches so that neither exp overflows for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


Elementwise = Callable[[np.ndarray], np.ndarray]

#: name -> (function, derivative); the derivative is what ``name'(x)`` computes.
ELEMENTWISE: dict[str, tuple[Elementwise, Elementwise]] = {
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda x: 1.0 / x),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "relu": (_relu, lambda x: (x > 0).astype(np.float64)),
    "softplus": (_softplus, _sigmoid),
    "abs": (np.abs, np.sign),
}


@dataclass(frozen=True)
class Builtin:
    """A built-in function: how many arguments it takes and what they must be."""

    name: str
    min_args: int
    max_args: int
    # Positions that must be the integer literal 0 or 1 (an axis).
    axis_args: tuple[int, ...] = ()
    # Arguments are sizes (numbers or size names), as in ones(h, 1).
    size_args: bool = False
    usage: str = ""


BUILTINS: dict[str, Builtin] = {
    **{name: Builtin(name, 1, 1, usage=f"{name}(x)") for name in ELEMENTWISE},
    "sum": Builtin("sum", 1, 2, axis_args=(1,), usage="sum(A) or sum(A, axis)"),
    "mean": Builtin("mean", 1, 2, axis_args=(1,), usage="mean(A) or mean(A, axis)"),
    "diag": Builtin("diag", 1, 1, usage="diag(v) or diag(A)"),
    "outer": Builtin("outer", 2, 2, usage="outer(u, v)"),
    "trace": Builtin("trace", 1, 1, usage="trace(A)"),
    "norm": Builtin("norm", 1, 1, usage="norm(A)"),
    "ones": Builtin("ones", 1, 2, size_args=True, usage="ones(n) or ones(n, m)"),
    "eye": Builtin("eye", 1, 1, size_args=True, usage="eye(n)"),
    "prod": Builtin("prod", 2, 2, usage="prod(A, B)"),
    "dot": Builtin("dot", 2, 2, usage="dot(A, B)"),
    "matmul": Builtin("matmul", 2, 2, usage="matmul(A, B)"),
    "multiply": Builtin("multiply", 2, 2, usage="multiply(a, b)"),
}

#: numpy's spellings of operators, read as the operator (``matmul(A, B)`` is ``A @ B``).
OPERATOR_FUNCTIONS = {"matmul": "@", "multiply": "*"}

#: ``transpose(A)`` is parsed straight into a Transpose node.
TRANSPOSE_FUNCTION = "transpose"
SIZE_FUNCTIONS = frozenset(n for n, b in BUILTINS.items() if b.size_args)


def static_call_shape(
    name: str, prime: bool, args: tuple[StaticShape | None, ...], activations: frozenset[str]
) -> StaticShape | None:
    """Return the shape a call is known to have before any value is seen, or None.

    Only shapes that follow from the argument shapes alone are given; a wrong
    combination yields None and is reported by the evaluator with the actual sizes.
    """
    first = args[0] if args else None
    if name in ELEMENTWISE or name in activations:
        return first
    if name in ("trace", "norm"):
        return ()
    if name in ("sum", "mean"):
        if len(args) == 1:
            return ()
        return None  # depends on the axis value, resolved by the evaluator
    if name == "outer" and all(a is not None and len(a) == 2 and a[1] == 1 for a in args):
        return (args[0][0], args[1][0])  # type: ignore[index]
    return None


__all__ = [
    "BUILTINS",
    "ELEMENTWISE",
    "OPERATOR_FUNCTIONS",
    "SIZE_FUNCTIONS",
    "TRANSPOSE_FUNCTION",
    "Builtin",
    "static_call_shape",
]
