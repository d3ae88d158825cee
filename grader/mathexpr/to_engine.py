"""Translate formulas into nodes of the reference engine (:mod:`grader.engine`).

``to_engine(tree, nodes)`` turns one parsed formula into an engine node, reading names from
``nodes`` (leaves and earlier named results); ``build_model(model, leaves)`` does it for an
exercise's whole ``model:`` section, naming each result, so the engine can differentiate
it. ``grad(J, w)``, ``hessian(J, w)``, ``hvp(J, w, v)`` and ``jacobian(f, w)`` (forward
mode, (f.size × w.size)) in instructors' references call the engine's autodiff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grader import engine
from grader.engine import EngineError, EngineShapeError, Tensor

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
)
from .errors import FormulaError, FormulaLimitError, FormulaShapeError, UnknownNameError
from .limits import DEFAULT_LIMITS, Limits
from .namespace import Namespace
from .parser import parse

EngineFunction = Callable[..., Tensor]

_BINARY = {ADD: "add", SUB: "sub", MUL: "mul", DIV: "div", MATMUL: "matmul"}
_PLAIN = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "softplus", "abs")
_SHAPE_OPS = ("diag", "outer", "trace", "norm")


class ModelFormulaError(FormulaError):
    """A line of a ``model:`` section was refused; ``quantity`` names the line and
    ``cause`` is the error of its formula (the column is within that formula)."""

    def __init__(self, quantity: str, cause: FormulaError) -> None:
        super().__init__(f"in the model's `{quantity}`: {cause.message}", cause.column)
        self.quantity = quantity
        self.cause = cause


class EngineTranslator:
    """One translation: the names in scope, the op table, sizes and extra functions."""

    def __init__(
        self,
        nodes: Mapping[str, Tensor],
        ops: Mapping[str, EngineFunction],
        sizes: Mapping[str, int],
        functions: Mapping[str, EngineFunction],
        limits: Limits,
    ) -> None:
        self.nodes = nodes
        self.ops = ops
        self.sizes = sizes
        self.functions = functions
        self.limits = limits

    def op(self, node: Node, name: str, *args: Any, **kwargs: Any) -> Tensor:
        """Call engine op ``name``; engine complaints become errors with the column."""
        try:
            out = self.ops[name](*args, **kwargs)
        except EngineShapeError as error:
            shapes = tuple(a.shape for a in args if isinstance(a, Tensor))
            symbol = getattr(node, "symbol", "") or name
            raise FormulaShapeError(str(error), node.col, symbol, shapes) from None
        except EngineError as error:
            raise FormulaError(str(error), node.col) from None
        if out.size > self.limits.max_elements:
            raise FormulaLimitError("this makes an array larger than allowed", node.col)
        return out

    def const(self, value: float) -> Tensor:
        return engine.const(np.array(value))

    def run(self, node: Node) -> Tensor:
        if isinstance(node, Number):
            return self.const(node.value)
        if isinstance(node, Name):
            if node.name not in self.nodes:
                known = sorted(self.nodes)
                raise UnknownNameError(
                    f"`{node.name}` is not a node of the model; known: {', '.join(known)}",
                    node.col,
                    node.name,
                    known,
                )
            return self.nodes[node.name]
        if isinstance(node, Size):
            return self.const(float(self.size(node)))
        if isinstance(node, Neg):
            return self.op(node, "neg", self.run(node.operand))
        if isinstance(node, Transpose):
            return self.op(node, "transpose", self.run(node.operand))
        if isinstance(node, Pow):
            return self.op(node, "pow", self.run(node.base), node.exponent)
        if isinstance(node, BinOp):
            left, right = self.run(node.left), self.run(node.right)
            op = node.op
            if op == PRODUCT:
                op = MUL if left.shape == () or right.shape == () else MATMUL
            return self.op(node, _BINARY[op], left, right)
        if isinstance(node, Call):
            return self.call(node)
        raise TypeError(f"not a formula node: {node!r}")

    def size(self, node: Size) -> int:
        if node.name not in self.sizes:
            raise UnknownNameError(
                f"the size `{node.name}` has no value here", node.col, node.name, self.sizes
            )
        return int(self.sizes[node.name])

    def dimension(self, node: Call, arg: Node) -> tuple[int, Any]:
        """A ones/eye size: its value and its symbol for memory accounting."""
        symbol: str | int
        if isinstance(arg, Size):
            value, symbol = self.size(arg), arg.name
        elif isinstance(arg, Number) and arg.value == int(arg.value):
            value, symbol = int(arg.value), int(arg.value)
        else:
            raise FormulaError(f"{node.name} takes sizes: numbers or size names", arg.start)
        if not 1 <= value <= self.limits.max_dim:
            raise FormulaError(
                f"{node.name} needs whole numbers from 1 to {self.limits.max_dim} as sizes",
                arg.start,
            )
        return value, symbol

    def wrt(self, node: Call, arg: Node) -> Tensor:
        if not isinstance(arg, Name):
            raise FormulaError(
                f"{node.name} differentiates with respect to a named quantity, as in "
                f"{node.name}(J, b2)",
                arg.start,
            )
        return self.run(arg)

    def call(self, node: Call) -> Tensor:
        name = node.name
        if name == "ones":
            dims = [self.dimension(node, a) for a in node.args] + [(1, 1)]
            (m, ms), (n, ns) = dims[0], dims[1]
            return self.op(node, "ones", m, n, symbols=(ms, ns))
        if name == "eye":
            n, symbol = self.dimension(node, node.args[0])
            return self.op(node, "eye", n, symbol)
        if name in ("grad", "hessian", "hvp", "jacobian") and name not in self.functions:
            return self.autodiff(node)
        args = [self.run(a) for a in node.args]
        if name in self.functions:
            key = name + "'" if node.prime else name
            if key not in self.functions:
                raise UnknownNameError(f"`{key}` has no engine implementation", node.col, key, [])
            try:
                return self.functions[key](*args)
            except EngineError as error:
                raise FormulaError(str(error), node.col) from None
        if node.prime:
            return self.derivative(node, args[0])
        if name in ("sum", "mean"):
            axis = int(node.args[1].value) if len(node.args) > 1 else None  # type: ignore[attr-defined]
            return self.op(node, name, args[0], axis)
        if name == "prod":
            return self.prod(node, args[0], args[1])
        if name in _PLAIN or name in _SHAPE_OPS or name in self.ops:
            return self.op(node, name, *args)
        raise UnknownNameError(f"`{name}` has no engine implementation", node.col, name, [])

    def derivative(self, node: Call, a: Tensor) -> Tensor:
        """``f'(a)`` for the elementwise built-ins and the activation, as engine ops."""
        name, one = node.name, self.const(1.0)
        if name == "exp":
            return self.op(node, "exp", a)
        if name == "log":
            return self.op(node, "div", one, a)
        if name == "sqrt":
            return self.op(node, "div", self.const(0.5), self.op(node, "sqrt", a))
        if name == "tanh":
            return self.op(node, "sub", one, self.op(node, "pow", self.op(node, "tanh", a), 2))
        if name == "sigmoid":
            s = self.op(node, "sigmoid", a)
            return self.op(node, "mul", s, self.op(node, "sub", one, s))
        if name == "relu":
            return self.op(node, "step", a)
        if name == "softplus":
            return self.op(node, "sigmoid", a)
        if name == "abs":
            return self.op(node, "sign", a)
        return self.op(node, "d" + name, a)  # phi' -> dphi, bound by the op table

    def prod(self, node: Call, a: Tensor, b: Tensor) -> Tensor:
        """The chapter's prod, resolved on the nodes' shapes as the evaluator does."""
        if a.shape == () or b.shape == () or (a.shape == b.shape and 1 in a.shape):
            return self.op(node, "mul", a, b)
        t = lambda x: self.op(node, "transpose", x)  # noqa: E731
        for left, right in (
            ("a", "b"),
            ("a", "bT"),
            ("bT", "a"),
            ("aT", "b"),
            ("b", "a"),
            ("b", "aT"),
            ("aT", "bT"),
        ):
            shapes = {"a": a.shape, "b": b.shape, "aT": a.shape[::-1], "bT": b.shape[::-1]}
            if shapes[left][1] == shapes[right][0]:
                pick = {"a": lambda: a, "b": lambda: b, "aT": lambda: t(a), "bT": lambda: t(b)}
                return self.op(node, "matmul", pick[left](), pick[right]())
        raise FormulaShapeError(
            f"prod: no product of {a.shape} and {b.shape} fits",
            node.col,
            "prod",
            (a.shape, b.shape),
        )

    def autodiff(self, node: Call) -> Tensor:
        """grad(J, w) as an engine node (so it can be differentiated again); hessian(J, w)
        and hvp(J, w, v) as constants holding the engine's result."""
        J = self.run(node.args[0])
        w = self.wrt(node, node.args[1])
        if node.name == "jacobian":  # forward mode, one JVP per entry of w
            if w.size > 1000 or J.size * w.size > 10**6:
                raise FormulaLimitError("jacobian is limited to 1,000 variables", node.col)
            try:
                return engine.const(engine.jacobian(J, w))
            except EngineError as error:
                raise FormulaError(str(error), node.col) from None
        if J.shape != ():
            raise FormulaShapeError(
                f"{node.name} needs a scalar to differentiate, got shape {J.shape}",
                node.args[0].start,
                node.name,
                (J.shape,),
            )
        try:
            if node.name == "grad":
                return engine.grad(J, w, create_graph=True)
            if node.name == "hessian":
                if w.size > 64:
                    raise FormulaLimitError("hessian is limited to 64 variables", node.col)
                return engine.const(engine.hessian(J, w))
            v = self.run(node.args[2])
            if v.shape != w.shape:
                raise FormulaShapeError(
                    f"hvp: the direction has shape {v.shape}, the variable {w.shape}",
                    node.args[2].start,
                    "hvp",
                    (v.shape, w.shape),
                )
            return engine.const(engine.hvp(J, w, v.value))
        except EngineError as error:
            raise FormulaError(str(error), node.col) from None


def to_engine(
    tree: Node,
    nodes: Mapping[str, Tensor],
    *,
    ops: Mapping[str, EngineFunction] | None = None,
    sizes: Mapping[str, int] | None = None,
    functions: Mapping[str, EngineFunction] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Tensor:
    """Return the engine node computing ``tree``.

    ``nodes`` maps canonical names to engine nodes; ``ops`` is the engine's op table
    (default ``engine.ops_table()``: phi = tanh, squared loss; pass
    ``engine.ops_table(phi="sigmoid")`` to bind the trial's activation); ``sizes`` gives
    the values of size names used in ``ones``/``eye``; ``functions`` adds engine
    implementations of caller functions (``"f"`` and ``"f'"``). An undecided product is
    resolved on the nodes' shapes. Raises UnknownNameError for a name not in ``nodes``,
    FormulaShapeError when the engine refuses shapes, FormulaError for other refusals.
    """
    translator = EngineTranslator(
        nodes, ops if ops is not None else engine.ops_table(), sizes or {}, functions or {}, limits
    )
    return translator.run(tree)


def build_model(
    model: Mapping[str, str | Node],
    leaves: Mapping[str, Tensor],
    namespace: Namespace | None = None,
    *,
    ops: Mapping[str, EngineFunction] | None = None,
    sizes: Mapping[str, int] | None = None,
    params: Sequence[str] = (),
    output: str = "o",
    objective: str = "J",
) -> engine.Model:
    """Build an engine :class:`~grader.engine.Model` from a ``model:`` section.

    ``model`` maps each quantity to its formula, in order (``{"z": "W1 @ x + b1", ...}``), as
    text or already parsed (a ``Node``, to parse once and build many times);
    each may use the ``leaves`` and the quantities above it. ``namespace`` reads the
    formulas (default: the chapter's; quantities it does not declare are added with an
    unknown shape). Each result is named after its quantity. Raises ModelFormulaError,
    naming the quantity, for a formula that cannot be read or translated, and ValueError
    when a quantity repeats a leaf's name.
    """
    ns = namespace if namespace is not None else Namespace.chapter()
    table = ops if ops is not None else engine.ops_table()
    nodes: dict[str, Tensor] = dict(leaves)
    undeclared = {q: None for q in model if ns.shape_of(q) is None}
    ns = ns.with_variables(undeclared) if undeclared else ns
    for quantity, text in model.items():
        if quantity in leaves:
            raise ValueError(f"the model's `{quantity}` has the name of an input")
        try:
            tree = text if isinstance(text, Node) else parse(str(text), ns)
            node = to_engine(tree, nodes, ops=table, sizes=sizes)
        except FormulaError as error:
            raise ModelFormulaError(quantity, error) from error
        nodes[quantity] = node.named(quantity)
    return engine.Model(nodes, tuple(params), output=output, objective=objective)
