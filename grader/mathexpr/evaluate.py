"""Evaluate a syntax tree over numpy float64 with strict shapes and a bounded budget.

Values are scalars (0-d arrays), column vectors (d×1) and matrices. ``+ - * /`` need equal
shapes or a scalar side (no broadcasting of (3×1) with (1×3)); ``@`` needs the inner sizes
to agree. Every operation checks the size of its result and charges its arithmetic to a
budget before it runs, so an accepted formula cannot take unbounded time or memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

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
    Transpose,
    walk,
)
from .errors import FormulaError, FormulaLimitError, FormulaShapeError, UnknownNameError
from .evaluate_calls import call_builtin
from .functions import BUILTINS, ELEMENTWISE
from .limits import DEFAULT_LIMITS, Limits
from .shapes import size_names

FunctionValue = Callable[..., object] | str


def as_value(value: object) -> np.ndarray:
    """Coerce a caller's value to float64: a 1-D array becomes a column, a number a 0-d
    array. Raises ValueError for arrays of more than two dimensions."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim > 2:
        raise ValueError(f"values have at most two dimensions, got shape {array.shape}")
    return array


class Evaluator:
    """One evaluation: values, functions, sizes for messages, and the remaining budget."""

    def __init__(
        self,
        values: Mapping[str, object],
        functions: Mapping[str, FunctionValue] | None,
        sizes: Mapping[str, int] | None,
        limits: Limits,
    ) -> None:
        self.raw_values = values
        self.values: dict[str, np.ndarray] = {}
        self.functions = dict(functions or {})
        self.sizes = dict(sizes or {})
        self.names = size_names(sizes)
        self.limits = limits
        self.flops = 0
        self.allocated = 0
        self.prod = False  # set when the formula calls prod: shapes are passed down

    # -- bookkeeping ------------------------------------------------------------------------

    def shape(self, array: np.ndarray, source: Node | None = None) -> str:
        """The shape in words: sizes by name, except where the formula wrote a number
        (``eye(3)`` is (3×3) even when d = 3)."""
        return "(" + "×".join(self.dims(array, source)) + ")" if array.ndim else "a scalar"

    def dims(self, array: np.ndarray, source: Node | None = None) -> list[str]:
        static = source.shape if source is not None else None
        literal = static is not None and any(isinstance(d, int) and d != 1 for d in static)
        if literal and static is not None and len(static) == array.ndim:
            return [str(d) for d in static]
        return [self.names.get(int(d), str(d)) if d != 1 else "1" for d in array.shape]

    def charge(self, elements: int, flops: int, column: int) -> None:
        """Refuse a result larger than the limit or arithmetic beyond the budget."""
        if elements > self.limits.max_elements:
            raise FormulaLimitError(
                f"this would make an array of {elements:,} numbers, more than the "
                f"{self.limits.max_elements:,} allowed",
                column,
            )
        self.flops += max(flops, elements, 1)
        self.allocated += elements
        if self.flops > self.limits.max_flops:
            raise FormulaLimitError("this formula needs too much arithmetic to evaluate", column)
        if self.allocated > self.limits.max_total_elements:
            raise FormulaLimitError("this formula needs too much memory to evaluate", column)

    # -- the walk (depth bounded by Limits.max_depth at parse time) ------------------------

    def run(self, node: Node, want: tuple[int, ...] | None = None) -> np.ndarray:
        """The value of ``node``; ``want`` is the shape its context needs when known (only
        ``prod`` reads it, and only formulas calling prod pass it down)."""
        if isinstance(node, Number):
            return np.array(node.value)
        if isinstance(node, Name):
            return self.variable(node)
        if isinstance(node, Size):
            if node.name not in self.sizes:
                raise UnknownNameError(
                    f"the size `{node.name}` has no value here", node.col, node.name, self.sizes
                )
            return np.array(float(self.sizes[node.name]))
        if isinstance(node, Neg):
            value = self.run(node.operand, want)
            self.charge(value.size, value.size, node.col)
            return -value
        if isinstance(node, Transpose):
            return self.run(node.operand, want[::-1] if want else None).T
        if isinstance(node, Pow):
            base = self.run(node.base, want)
            self.charge(base.size, base.size, node.col)
            return np.power(base, node.exponent)
        if isinstance(node, BinOp):
            if self.prod and node.op in (ADD, SUB, MUL, DIV):
                return self.binop(node, *self.sides(node, want))
            return self.binop(node, self.run(node.left), self.run(node.right))
        if isinstance(node, Call):
            if self.prod and (
                node.name in ELEMENTWISE or isinstance(self.functions.get(node.name), str)
            ):
                return self.call(node, [self.run(a, want) for a in node.args], want)
            return self.call(node, [self.run(a) for a in node.args], want)
        raise TypeError(f"not a formula node: {node!r}")

    def sides(self, node: BinOp, want: tuple[int, ...] | None) -> tuple[np.ndarray, np.ndarray]:
        """Both sides of an elementwise operator, each told the shape the other has (or the
        context's), the side without prod first."""
        if _calls_prod(node.left) and not _calls_prod(node.right):
            right = self.run(node.right, want)
            return self.run(node.left, want or _array_shape(right)), right
        left = self.run(node.left, want)
        return left, self.run(node.right, want or _array_shape(left))

    def variable(self, node: Name) -> np.ndarray:
        if node.name not in self.values:
            if node.name not in self.raw_values:
                known = sorted(self.raw_values)
                raise UnknownNameError(
                    f"`{node.name}` has no value here; known: {', '.join(known)}",
                    node.col,
                    node.name,
                    known,
                )
            value = as_value(self.raw_values[node.name])
            self.charge(value.size, 0, node.col)
            self.values[node.name] = value
        return self.values[node.name]

    def binop(self, node: BinOp, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        op = node.op
        if op == PRODUCT:
            op = MUL if left.ndim == 0 or right.ndim == 0 else MATMUL
        if op == MATMUL:
            self.check_matmul(node, left, right)
            m, k = left.shape
            n = right.shape[1]
            self.charge(m * n, m * k * n, node.col)
            return left @ right
        if left.shape != right.shape and left.ndim != 0 and right.ndim != 0:
            raise self.elementwise_error(node, left, right)
        size = max(left.size, right.size)
        self.charge(size, size, node.col)
        if op == ADD:
            return left + right
        if op == SUB:
            return left - right
        if op == MUL:
            return left * right
        if op == DIV:
            return left / right
        raise TypeError(f"unknown operator {op!r}")

    def symbol(self, node: BinOp) -> str:
        return "the implicit product" if node.symbol.strip() == "" else f"`{node.symbol}`"

    def check_matmul(self, node: BinOp, left: np.ndarray, right: np.ndarray) -> None:
        what = self.symbol(node)
        if left.ndim == 0 or right.ndim == 0:
            raise FormulaShapeError(
                f"{what} is a matrix product and needs two arrays, got "
                f"{self.shape(left, node.left)} and {self.shape(right, node.right)}; to scale "
                "by a scalar use *",
                node.col,
                node.symbol,
                (left.shape, right.shape),
            )
        if left.shape[1] == right.shape[0]:
            return
        hint = ""
        if left.shape == right.shape:
            hint = "; for an elementwise product use ⊙ or *"
        elif left.shape[0] == right.shape[0]:
            hint = "; did you mean to transpose the left side?"
        elif left.shape[1] == right.shape[1]:
            hint = "; did you mean to transpose the right side?"
        l_dims, r_dims = self.dims(left, node.left), self.dims(right, node.right)
        raise FormulaShapeError(
            f"{what} is a matrix product: {self.shape(left, node.left)} times "
            f"{self.shape(right, node.right)} needs the columns of the left ({l_dims[1]}) "
            f"to match the rows of the right ({r_dims[0]})" + hint,
            node.col,
            node.symbol,
            (left.shape, right.shape),
        )

    def elementwise_error(
        self, node: BinOp, left: np.ndarray, right: np.ndarray
    ) -> FormulaShapeError:
        what = self.symbol(node)
        l_shape, r_shape = self.shape(left, node.left), self.shape(right, node.right)
        if node.op in (MUL, DIV):
            verb = "is elementwise" if node.op == MUL else "divides elementwise"
            message = f"{what} {verb}: {l_shape} with {r_shape}"
            if node.op == MUL and left.ndim == 2 and right.ndim == 2:
                if left.shape[1] == right.shape[0]:
                    message += "; for a matrix product use @"
            if left.shape == right.shape[::-1]:
                message += "; one side may need a transpose"
        else:
            message = f"{what} needs two operands of the same shape: {l_shape} and {r_shape}"
            if left.shape == right.shape[::-1]:
                message += "; one side may need a transpose"
        return FormulaShapeError(message, node.col, node.symbol, (left.shape, right.shape))

    def call(
        self, node: Call, args: list[np.ndarray], want: tuple[int, ...] | None = None
    ) -> np.ndarray:
        name = node.name
        bound = self.functions.get(name)
        if isinstance(bound, str):  # an activation bound to a built-in, e.g. phi -> tanh
            if bound not in ELEMENTWISE:
                raise ValueError(f"{name} is bound to {bound!r}, not an elementwise built-in")
            function, derivative = ELEMENTWISE[bound]
            self.charge(args[0].size, 10 * args[0].size, node.col)
            return np.asarray((derivative if node.prime else function)(args[0]), np.float64)
        if bound is None and name in BUILTINS and not (node.prime and name not in ELEMENTWISE):
            return call_builtin(self, node, args, want)
        key = name + "'" if node.prime else name
        implementation = self.functions.get(key)
        if not callable(implementation):
            raise UnknownNameError(
                f"`{key}` cannot be evaluated here", node.col, key, sorted(self.functions)
            )
        self.charge(max((a.size for a in args), default=1), 0, node.col)
        try:
            result = implementation(*args)
        except FormulaError:
            raise
        except ValueError as error:
            shapes = ", ".join(self.shape(a) for a in args)
            raise FormulaShapeError(
                f"{key} cannot be applied to {shapes}: {error}",
                node.col,
                key,
                tuple(a.shape for a in args),
            ) from None
        value = as_value(result)
        self.charge(value.size, 0, node.col)
        return value


_CALLS_PROD: dict[int, tuple[Node, bool]] = {}


def _calls_prod(node: Node) -> bool:
    """True when the formula calls prod (kept per tree: parsed trees are shared, and an entry
    keeps its tree alive, so an id is never reused while it is a key)."""
    cached = _CALLS_PROD.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    found = any(isinstance(n, Call) and n.name == "prod" for n in walk(node))
    if len(_CALLS_PROD) > 8192:
        _CALLS_PROD.clear()
    _CALLS_PROD[id(node)] = (node, found)
    return found


def _array_shape(value: np.ndarray) -> tuple[int, ...] | None:
    return value.shape if value.ndim == 2 else None


def evaluate(
    node: Node,
    values: Mapping[str, object],
    functions: Mapping[str, FunctionValue] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    expect: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Evaluate a parsed formula and return a float64 array (0-d for a scalar).

    ``values`` maps canonical names to numbers or arrays (1-D arrays are read as columns);
    ``functions`` supplies the caller's functions: a callable taking and returning arrays
    (``"l"``, ``"grad"``, a derivative under ``"phi'"``), or the name of an elementwise
    built-in (``{"phi": "tanh"}`` also gives ``phi'``); ``sizes`` (``{"h": 5, ...}``) lets
    shape messages say ``(h×q)``; ``expect`` is the shape the result should have, which
    ``prod(A, B)`` follows when several arrangements of its arguments fit. Floating-point
    overflow and invalid operations produce inf/nan silently; the caller decides what a
    non-finite result means.

    Raises FormulaShapeError when shapes do not fit an operator, FormulaLimitError when the
    result or the arithmetic would exceed ``limits``, UnknownNameError when a name or
    function has no value, and FormulaError for a bad argument (e.g. ``ones(0)``).
    """
    evaluator = Evaluator(values, functions, sizes, limits)
    evaluator.prod = _calls_prod(node)
    if not evaluator.prod:
        expect = None
    with np.errstate(all="ignore"):
        return np.asarray(evaluator.run(node, expect), dtype=np.float64)
