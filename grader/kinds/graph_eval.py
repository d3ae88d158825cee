"""Evaluating a drawn graph on a trial's values, so an equivalent drawing earns credit.

Each operator is interpreted by its normalised label through the engine's ops (with the trial's
activation bound to ``phi``): ``add`` and ``mul`` take any number of inputs; ``matmul`` takes
its inputs in the order whose shapes fit (and multiplies by a scalar); ``sub``/``div`` take
them in the order drawn, or one input and the label's constant (``/ 2``); ``pow`` takes the
label's exponent (2 if none). A variable with no incoming edge takes the trial's value of its
name; a variable with one incoming edge carries that operator's result. An operator label that
stands for a collapsed quantity (the part's ``collapse``) evaluates that quantity's model
formula with the drawn inputs bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from grader import engine
from grader.kinds.graph_parse import VARIABLE, DrawnGraph

if TYPE_CHECKING:  # instances imports the spec, which imports every kind
    from grader.kinds.instances import Trial

_UNARY = (
    "phi",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "exp",
    "log",
    "sqrt",
    "abs",
    "neg",
    "transpose",
    "sum",
    "mean",
    "identity",
    "dphi",
)


class GraphEvalError(ValueError):
    """Raised when a drawing cannot be evaluated; the message says where and why."""


@dataclass(frozen=True)
class Macro:
    """A collapsed quantity: the operator label drawn for it, its formula, its inputs."""

    quantity: str
    tree: Any  # the parsed model formula of the quantity
    inputs: frozenset[str]
    required: frozenset[str]


def _apply(
    label: str, constant: float | None, args: list[np.ndarray], ops: Mapping[str, Callable]
) -> np.ndarray:
    t = [engine.const(a) for a in args]
    n = len(t)
    if label in ("add", "mul") and n >= 2:
        result = t[0]
        for other in t[1:]:
            result = ops[label](result, other)
        if constant is not None:
            result = ops[label](result, engine.const(np.float64(constant)))
        return result.value
    if label == "mul" and n == 1 and constant is not None:
        return ops["mul"](t[0], engine.const(np.float64(constant))).value
    if label == "matmul" and n == 2:
        a, b = args
        if a.ndim == 0 or b.ndim == 0:
            return ops["mul"](t[0], t[1]).value
        if a.shape[-1] == b.shape[0]:
            return ops["matmul"](t[0], t[1]).value
        if b.shape[-1] == a.shape[0]:
            return ops["matmul"](t[1], t[0]).value
        raise GraphEvalError(f"the shapes {a.shape} and {b.shape} cannot be multiplied")
    if label in ("sub", "div") and n == 2:
        return ops[label](t[0], t[1]).value
    if label in ("sub", "div") and n == 1 and constant is not None:
        return ops[label](t[0], engine.const(np.float64(constant))).value
    if label == "sub" and n == 1:
        return ops["neg"](t[0]).value
    if label == "pow" and n == 1:
        return ops["pow"](t[0], 2.0 if constant is None else constant).value
    if label == "l" and n == 2:
        return ops["l"](t[0], t[1]).value
    if label == "norm" and n == 1:
        return ops["norm"](t[0]).value
    if label in _UNARY and n == 1:
        return ops[label](t[0]).value
    raise GraphEvalError(f"an operator {label} with {n} input(s) has no meaning here")


def evaluate_drawing(
    drawn: DrawnGraph, trial: Trial, output: str, macros: Mapping[str, Macro] = MappingProxyType({})
) -> np.ndarray:
    """Return the value the drawing computes for the variable ``output`` on ``trial``.

    Raises ``GraphEvalError`` when a variable is unknown, an operator cannot be interpreted or
    its shapes do not fit.
    """
    from grader.kinds.instances import student_value

    macros = dict(macros)
    graph = drawn.digraph()
    order = list(nx.topological_sort(graph))
    inputs: dict[str, list[str]] = {node_id: [] for node_id in drawn.nodes}
    for a, b in drawn.edges:
        inputs[b].append(a)
    ops = trial.ops()
    values: dict[str, np.ndarray] = {}
    for node_id in order:
        node = drawn.nodes[node_id]
        sources = inputs[node_id]
        if node.type == VARIABLE:
            if not sources:
                if node.key not in trial.values:
                    raise GraphEvalError(f"{node.label} is not a variable of this exercise")
                values[node_id] = trial.values[node.key]
            elif len(sources) == 1:
                values[node_id] = values[sources[0]]
            else:
                raise GraphEvalError(f"{node.label} has {len(sources)} incoming edges")
            continue
        args = [values[s] for s in sources]
        try:
            macro = macros.get(node.key)
            names = {drawn.nodes[s].key for s in sources}
            if (
                macro is not None
                and macro.required <= names <= macro.inputs
                and len(names) == len(sources)
            ):
                extra = {drawn.nodes[s].key: values[s] for s in sources}
                values[node_id] = student_value(trial, macro.tree, extra)
            else:
                values[node_id] = np.asarray(_apply(node.key, node.constant, args, ops))
        except GraphEvalError:
            raise
        except Exception as exc:  # engine shape errors, formula errors, overflow
            raise GraphEvalError(f"{drawn.describe(node_id)} cannot be computed: {exc}") from None
    targets = [n.id for n in drawn.nodes.values() if n.type == VARIABLE and n.key == output]
    if len(targets) != 1:
        raise GraphEvalError(f"the drawing needs exactly one {output}")
    return values[targets[0]]


def same_value(drawn_value: np.ndarray, reference: np.ndarray, rtol: float, atol: float) -> bool:
    """Return True when the values have the same shape and agree within tolerance."""
    drawn_value, reference = np.asarray(drawn_value), np.asarray(reference)
    return (
        drawn_value.shape == reference.shape
        and bool(np.all(np.isfinite(drawn_value)))
        and bool(np.allclose(drawn_value, reference, rtol=rtol, atol=atol))
    )
