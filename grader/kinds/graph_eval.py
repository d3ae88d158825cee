"""Evaluating a drawn graph on a trial's values, step by step (see ``graph_credit``).

Each operator is interpreted by its normalised label through the engine's ops (with the trial's
activation bound to ``phi``): ``add`` and ``mul`` take any number of inputs; ``matmul`` takes
its inputs in the order whose shapes fit (and multiplies by a scalar); ``sub``/``div`` take
them in the order drawn, or one input and the label's constant (``/ 2``); ``pow`` takes the
label's exponent (2 if none). An operator label that stands for a collapsed quantity (the
part's ``collapse``) evaluates that quantity's model formula with the drawn inputs bound.
``local_values`` gives each variable the value its operator computes when the variables it
reads hold their true values; a variable with no incoming edge is never given a value unless it
is one of the exercise's inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from grader import engine
from grader.kinds.graph_parse import OPERATOR, VARIABLE, DrawnGraph

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


_ARITY = {
    "add": "two or more inputs",
    "mul": "two or more inputs",
    "matmul": "two inputs",
    "sub": "two inputs (or one and a constant: - 1)",
    "div": "two inputs (or one and a constant: / 2)",
    "l": "two inputs (the output and the target)",
    "pow": "one input",
    "norm": "one input",
}


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
    arity = _ARITY.get(label, "one input" if label in _UNARY else None)
    if arity is None:
        raise GraphEvalError(f"{label} is not an operator the grader knows")
    raise GraphEvalError(f"{label} takes {arity}, not {n}")


class Failed:
    """A value that could not be computed, with the reason (carried to what depends on it)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _macro_value(
    macro: Macro, trial: Trial, names: list[str], args: list[np.ndarray], summed: bool
) -> np.ndarray | None:
    """Return a collapsed quantity's value from the drawn inputs, or None when it does not apply.

    An operator drawn with only some of the quantity's required inputs, whose result is added
    to something (``summed``), computes its formula with the others at zero: an ``ℓ2`` circle of
    ``W1`` alone is then ``λ/2‖W1‖²``, so two circles added give ``s``. Anywhere else it is the
    operator its label spells (``norm`` for ``ℓ2``).
    """
    from grader.kinds.instances import student_value

    given = set(names)
    if len(given) != len(names) or not given <= macro.inputs or not given & macro.required:
        return None
    if not macro.required <= given and not summed:
        return None
    extra = dict(zip(names, args, strict=True))
    for name in macro.required - given:
        extra[name] = np.zeros_like(trial.values[name])
    return student_value(trial, macro.tree, extra)


def local_values(
    drawn: DrawnGraph,
    trial: Trial,
    known: set[str],
    macros: Mapping[str, Macro] = MappingProxyType({}),
) -> dict[str, np.ndarray | Failed | None]:
    """Return, for each variable node of ``drawn``, the value its incoming operator computes on
    ``trial`` when every variable it reads holds its true value (None when nothing points in).

    Variables named in ``known`` (the exercise's inputs and the model's quantities) pass their
    true value on, whatever the drawing computes for them, so that each step is judged on its
    own: a mistake in ``z`` is not charged again to ``h``. Any other variable passes on what the
    drawing computes for it, and a source with an unknown name has no value.
    """
    macros = dict(macros)
    order = list(nx.topological_sort(drawn.digraph()))
    inputs: dict[str, list[str]] = {node_id: [] for node_id in drawn.nodes}
    outputs: dict[str, list[str]] = {node_id: [] for node_id in drawn.nodes}
    for a, b in drawn.edges:
        inputs[b].append(a)
        outputs[a].append(b)
    ops = trial.ops()
    passed: dict[str, np.ndarray | Failed] = {}
    computed: dict[str, np.ndarray | Failed | None] = {}
    for node_id in order:
        node = drawn.nodes[node_id]
        sources = inputs[node_id]
        args = [passed[s] for s in sources]
        failed = next((a for a in args if isinstance(a, Failed)), None)
        if node.type == VARIABLE:
            if not sources:
                value: np.ndarray | Failed | None = None
            elif len(sources) > 1:
                value = Failed(
                    f"{node.label} has {len(sources)} incoming edges: a variable is the result "
                    "of one operator (add the terms with a + circle)"
                )
            else:
                value = args[0]
            computed[node_id] = value
            if node.key in known:
                passed[node_id] = trial.values[node.key]
            elif value is None:
                passed[node_id] = Failed(f"{node.label} is not an input of this exercise")
            else:
                passed[node_id] = value
            continue
        if failed is not None:
            passed[node_id] = failed
            continue
        arrays = [a for a in args if not isinstance(a, Failed)]  # all of them, here
        try:
            macro = macros.get(node.key)
            names = [drawn.nodes[s].key for s in sources]
            summed = all(
                drawn.nodes[b].type == OPERATOR and drawn.nodes[b].key == "add"
                for b in outputs[node_id]
            )
            result = None if macro is None else _macro_value(macro, trial, names, arrays, summed)
            if result is None:
                result = _apply(node.key, node.constant, arrays, ops)
            passed[node_id] = np.asarray(result)
        except GraphEvalError as exc:
            passed[node_id] = Failed(f"{drawn.describe(node_id)}: {exc}")
        except Exception as exc:  # engine shape errors, formula errors, overflow
            passed[node_id] = Failed(f"{drawn.describe(node_id)} cannot be computed: {exc}")
    return computed


def same_value(drawn_value: np.ndarray, reference: np.ndarray, rtol: float, atol: float) -> bool:
    """Return True when the values have the same shape and agree within tolerance."""
    drawn_value, reference = np.asarray(drawn_value), np.asarray(reference)
    return (
        drawn_value.shape == reference.shape
        and bool(np.all(np.isfinite(drawn_value)))
        and bool(np.allclose(drawn_value, reference, rtol=rtol, atol=atol))
    )
