"""Reverse mode (``grad``), forward mode (``jvp``), second order (``hvp``, ``hessian``), and
the cost of each.

Second order is forward-over-reverse: ``grad(..., create_graph=True)`` records the backward
pass as ordinary engine nodes (every backward rule is written with engine ops), and a forward
-mode pass over that recorded gradient gives the Hessian-vector product. ``hvp(...,
method="reverse")`` instead differentiates <grad J, v> again in reverse mode; both agree.

All graph walks are iterative over a topological order (see ``tensor.ancestors``), so chains
of tens of thousands of ops work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from grader.engine.ops_basic import sum as sum_all
from grader.engine.tensor import (
    Cost,
    EngineError,
    EngineShapeError,
    Tensor,
    ancestors,
    as_array,
    const,
    counting,
    recording,
)


def _listify(nodes: Tensor | Sequence[Tensor]) -> tuple[list[Tensor], bool]:
    if isinstance(nodes, Tensor):
        return [nodes], True
    nodes = list(nodes)
    if not all(isinstance(n, Tensor) for n in nodes):
        raise EngineError("expected engine nodes (Tensor) to differentiate with respect to")
    return nodes, False


def _zeros_like(node: Tensor) -> Tensor:
    z = const(np.zeros(node.shape))
    z.sym_shape = node.sym_shape
    return z


RuleCosts = dict[tuple[int, int], Cost]


def _apply(rule: Any, value: Tensor, costs: RuleCosts | None, key: tuple[int, int]) -> Any:
    """Apply a vjp or jvp rule; with ``costs``, count what it executes under ``key``."""
    if costs is None:
        return rule(value)
    with counting() as cost:
        out = rule(value)
    costs.setdefault(key, Cost()).add(cost)
    return out


def backward(
    J: Tensor,
    wrt: Sequence[Tensor],
    create_graph: bool = False,
    costs: RuleCosts | None = None,
) -> list[Tensor]:
    """Run the backward pass from scalar ``J``; return dJ/dw for each w as engine nodes.

    Only nodes on a path from some w to J are visited. With ``create_graph`` the pass is
    recorded (the results can be differentiated again); otherwise results are constants.
    ``costs``, when given, receives the ops each backward rule executed, under
    (node id, input id): what computing that input's gradient contribution cost.
    Raises EngineShapeError when J is not a scalar.
    """
    if not isinstance(J, Tensor):
        raise EngineError("grad needs an engine node (Tensor) as the function to differentiate")
    if J.shape != ():
        raise EngineShapeError(
            f"grad needs a scalar function; this one has shape {J.shape} (sum it first)"
        )
    order = ancestors([J])
    wanted = {w.id for w in wrt}
    live: set[int] = set()
    for node in order:
        if node.id in wanted or any(p.id in live for p in node.parents):
            live.add(node.id)
    grads: dict[int, Tensor] = {J.id: const(1.0)}
    with recording(create_graph):
        for node in reversed(order):
            g = grads.get(node.id) if node.id in wanted else grads.pop(node.id, None)
            if g is None:
                continue
            for parent, rule in zip(node.parents, node.vjps, strict=True):
                if parent.id not in live:
                    continue
                contribution = _apply(rule, g, costs, (node.id, parent.id))
                if contribution is None:
                    continue
                previous = grads.get(parent.id)
                grads[parent.id] = contribution if previous is None else previous + contribution
    return [grads[w.id] if w.id in grads else _zeros_like(w) for w in wrt]


@overload
def grad(J: Tensor, wrt: Tensor, create_graph: Literal[False] = False) -> np.ndarray: ...
@overload
def grad(
    J: Tensor, wrt: Sequence[Tensor], create_graph: Literal[False] = False
) -> list[np.ndarray]: ...
@overload
def grad(J: Tensor, wrt: Tensor, create_graph: Literal[True]) -> Tensor: ...
@overload
def grad(J: Tensor, wrt: Sequence[Tensor], create_graph: Literal[True]) -> list[Tensor]: ...
@overload
def grad(
    J: Tensor, wrt: Tensor | Sequence[Tensor], create_graph: bool = False
) -> np.ndarray | list[np.ndarray] | Tensor | list[Tensor]: ...


def grad(
    J: Tensor, wrt: Tensor | Sequence[Tensor], create_graph: bool = False
) -> np.ndarray | list[np.ndarray] | Tensor | list[Tensor]:
    """The gradient of scalar node ``J`` with respect to a node (or each node of a list).

    Returns an array of each node's shape (zeros when J does not depend on it), or engine
    nodes when ``create_graph`` is true. Raises EngineShapeError when J is not a scalar.
    """
    nodes, single = _listify(wrt)
    gs = backward(J, nodes, create_graph)
    out: list[Any] = gs if create_graph else [g.value.copy() for g in gs]
    return out[0] if single else out


def _seed(nodes: list[Tensor], vectors: Sequence[Any]) -> dict[int, Tensor]:
    if len(vectors) != len(nodes):
        raise EngineError(f"{len(nodes)} inputs but {len(vectors)} tangent vectors")
    seeds: dict[int, Tensor] = {}
    for node, vec in zip(nodes, vectors, strict=True):
        arr = as_array(vec.value if isinstance(vec, Tensor) else vec)
        if arr.shape != node.shape:
            raise EngineShapeError(
                f"the tangent for {node.label} has shape {arr.shape}, not {node.shape}"
            )
        seeds[node.id] = const(arr)
    return seeds


def forward_tangents(
    order: list[Tensor],
    seeds: dict[int, Tensor],
    create_graph: bool = False,
    costs: RuleCosts | None = None,
) -> dict[int, Tensor]:
    """Push tangents through ``order`` (a topological order); seeded nodes keep their seed.

    ``costs``, when given, receives the ops each forward rule executed, under (node id,
    input id): what carrying that input's tangent into the node's cost.
    """
    tangents = dict(seeds)
    with recording(create_graph):
        for node in order:
            if node.id in seeds:
                continue
            total = None
            for parent, rule in zip(node.parents, node.jvps, strict=True):
                t = tangents.get(parent.id)
                contribution = None if t is None else _apply(rule, t, costs, (node.id, parent.id))
                if contribution is not None:
                    total = contribution if total is None else total + contribution
            if total is not None:
                tangents[node.id] = total
    return tangents


def jvp(
    f: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    tangents: Any,
) -> np.ndarray | list[np.ndarray]:
    """Forward mode: the directional derivative of ``f`` along ``tangents`` of ``inputs``.

    ``tangents`` is one array (for one input) or a list matching ``inputs``. Returns an array
    of f's shape (a list for a list of f), zeros where f does not depend on the inputs.
    """
    outs, single_out = _listify(f)
    nodes, single_in = _listify(inputs)
    vectors = [tangents] if single_in else list(tangents)
    found = forward_tangents(ancestors(outs), _seed(nodes, vectors))
    values = [found[o.id].value.copy() if o.id in found else np.zeros(o.shape) for o in outs]
    return values[0] if single_out else values


def hvp(
    J: Tensor, wrt: Tensor | Sequence[Tensor], v: Any, method: str = "forward"
) -> np.ndarray | list[np.ndarray]:
    """The Hessian-vector product H v of scalar ``J`` in the variables ``wrt``.

    ``method="forward"`` (default): forward mode over the recorded backward pass;
    ``method="reverse"``: reverse mode over <grad J, v>. Returns arrays shaped like wrt.
    """
    nodes, single = _listify(wrt)
    vectors = [v] if single else list(v)
    seeds = _seed(nodes, vectors)
    gs = backward(J, nodes, create_graph=True)
    if method == "forward":
        found = forward_tangents(ancestors(gs), seeds)
        values = [found[g.id].value.copy() if g.id in found else np.zeros(g.shape) for g in gs]
    elif method == "reverse":
        inner = sum_all(gs[0] * seeds[nodes[0].id])
        for node, g in zip(nodes[1:], gs[1:], strict=True):
            inner = inner + sum_all(g * seeds[node.id])
        values = [g.value.copy() for g in backward(inner, nodes)]
    else:
        raise EngineError(f"hvp method is 'forward' or 'reverse', not {method!r}")
    return values[0] if single else values


def hessian(J: Tensor, wrt: Tensor | Sequence[Tensor]) -> np.ndarray:
    """The full Hessian of scalar ``J`` over the flattened variables, an (n, n) array.

    The variables are flattened row-major (numpy's C order; for a column vector simply its
    entries) and concatenated in the order given: ``H[i, j] = ∂²J / ∂w_i ∂w_j``. One recorded
    backward pass, then one forward-mode pass per column.
    """
    nodes, _ = _listify(wrt)
    gs = backward(J, nodes, create_graph=True)
    order = ancestors(gs)
    sizes = [w.size for w in nodes]
    n = int(np.sum(sizes))
    H = np.zeros((n, n))
    for j in range(n):
        unit = np.zeros(n)
        unit[j] = 1.0
        parts = np.split(unit, np.cumsum(sizes)[:-1])
        seeds = _seed(nodes, [p.reshape(w.shape) for p, w in zip(parts, nodes, strict=True)])
        found = forward_tangents(order, seeds)
        column = [found[g.id].value if g.id in found else np.zeros(g.shape) for g in gs]
        H[:, j] = np.concatenate([c.reshape(-1) for c in column])
    return H


def jacobian(f: Tensor, wrt: Tensor) -> np.ndarray:
    """The Jacobian of ``f`` in ``wrt``, shape (f.size, wrt.size), both flattened row-major."""
    order = ancestors([f])
    J = np.zeros((f.size, wrt.size))
    for j in range(wrt.size):
        unit = np.zeros(wrt.size)
        unit[j] = 1.0
        found = forward_tangents(order, _seed([wrt], [unit.reshape(wrt.shape)]))
        if f.id in found:
            J[:, j] = found[f.id].value.reshape(-1)
    return J


@dataclass
class CostReport:
    """Elementary ops for one evaluation of each quantity (see ``tensor.Cost``).

    ``forward``: the ops of J's recorded graph; ``backward``: grad of J in wrt;
    ``jvp``: one forward-mode directional derivative of J; ``hvp``: one Hessian-vector
    product (recorded backward + forward mode over it); ``hessian``: the full Hessian, or
    None when the variables have more than ``hessian_limit`` entries.
    """

    forward: Cost
    backward: Cost
    jvp: Cost
    hvp: Cost
    hessian: Cost | None

    def ratio(self, what: str, unit: str = "flops") -> float:
        """The cost of ``what`` ("backward", "jvp", "hvp", "hessian") over the forward pass."""
        cost = getattr(self, what)
        if cost is None:
            raise EngineError(f"{what} was not measured")
        return getattr(cost, unit) / max(getattr(self.forward, unit), 1)


def costs(
    J: Tensor, wrt: Tensor | Sequence[Tensor], v: Any = None, hessian_limit: int = 64
) -> CostReport:
    """Measure forward, backward, JVP, HVP (and small Hessian) costs of scalar ``J``.

    ``v`` is the direction (default: a fixed pseudo-random one). Returns a CostReport.
    """
    nodes, single = _listify(wrt)
    if v is None:
        rng = np.random.default_rng(0)
        vectors = [rng.standard_normal(w.shape) for w in nodes]
    else:
        vectors = [v] if single else list(v)
    forward = Cost()
    for node in ancestors([J]):
        if node.op is not None:
            forward.ops += 1
            forward.flops += node.work
            forward.by_op[node.op] += 1
    with counting() as back:
        backward(J, nodes)
    with counting() as fwd:
        jvp(J, nodes, vectors)
    with counting() as second:
        hvp(J, nodes, vectors)
    full = None
    if int(np.sum([w.size for w in nodes])) <= hessian_limit:
        with counting() as full:
            hessian(J, nodes)
    return CostReport(forward, back, fwd, second, full)
