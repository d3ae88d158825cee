"""Forward-mode accumulation against reverse mode: what each costs, what forward mode carries.

To get ∂f/∂w, forward mode pushes one tangent per entry of w through the graph (one JVP per
direction; the directions are the unit matrices of w's shape), so every node t the tangents
reach carries the accumulated Jacobian ∂t/∂w, with t.size × w.size numbers. Reverse mode gets
the gradient of a scalar J in one backward pass. Both are measured on the engine's own rules:
the ops each rule application executes are counted (``counting``), and the carried memory is
the size of the arrays the rules actually return.

Conventions (the ones the forward-vs-reverse exercise states to students)

- A **pass** is one sweep over the graph that propagates derivatives: forward mode makes one
  per direction (w.size of them), reverse mode one backward pass. The forward values are
  computed once, shared by both, and not counted.
- **Multiplications** are ``Cost.mults``: mkn for a matrix product of (m×k) by (k×n), one per
  entry for an elementwise product or the scaling of an array; a product of two scalars counts
  none. Elementwise functions (φ, φ′) and additions are not multiplications.
- **Carried memory** counts floats of the carried Jacobians only (not the forward values).
  Each is alive from the op that computes it to its last use (the output's to the end), and
  during an op the Jacobians of its inputs and its own are alive together. A rule that passes
  a tangent through unchanged (adding a bias that has no tangent, naming a node) makes no new
  array: the node shares its input's Jacobian, which is then named after the node. The seed
  ∂w/∂w (an identity) is not counted: each direction is a unit matrix made when needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from grader.engine.autodiff import RuleCosts, backward, forward_tangents
from grader.engine.memory import describe
from grader.engine.tensor import (
    Cost,
    EngineError,
    EngineShapeError,
    Tensor,
    ancestors,
    const,
    counting,
    sym_size,
)


def _floats(sym_shape: tuple[Any, ...]) -> sympy.Expr:
    return sympy.Mul(*[sym_size(d) for d in sym_shape])


@dataclass(frozen=True)
class Product:
    """The multiplications one rule makes in one pass: the derivative of ``target`` computed
    from that of ``via`` (forward: the tangent of target from via's; reverse: the gradient of
    target from via's)."""

    target: str
    via: str
    mults: int
    sym_mults: sympy.Expr


@dataclass
class ModeCost:
    """What one mode executed to get the derivative: passes, every op (``cost``, all passes
    together), the multiplying rules of one pass (``products``) and the derivative itself."""

    mode: str  # "forward" or "reverse"
    passes: int
    sym_passes: sympy.Expr
    cost: Cost
    products: list[Product]
    result: np.ndarray

    @property
    def mults(self) -> int:
        """The multiplications executed, all passes together (measured)."""
        return self.cost.mults

    @property
    def sym_mults(self) -> sympy.Expr:
        """The multiplications in the leaves' size symbols: passes × those of one pass."""
        return sympy.expand(self.sym_passes * sympy.Add(*[p.sym_mults for p in self.products]))


@dataclass(frozen=True)
class Carried:
    """One carried Jacobian ∂t/∂w: a (t.size, w.size) block of numbers, shared by ``nodes``."""

    name: str
    nodes: tuple[str, ...]
    shape: tuple[int, int]
    sym_shape: tuple[sympy.Expr, sympy.Expr]
    floats: int
    sym_floats: sympy.Expr


@dataclass
class Accumulation:
    """Forward-mode accumulation of ∂f/∂w: the Jacobian, the carried blocks and their peak."""

    wrt: str
    jacobian: np.ndarray  # (f.size, w.size), both flattened row-major
    carried: list[Carried]
    steps: list[dict[str, Any]]
    peak: int
    sym_peak: sympy.Expr
    peak_items: list[Carried]
    forward: ModeCost
    by_node: dict[str, Carried] = field(default_factory=dict)


def _products(order: list[Tensor], costs: RuleCosts, reverse: bool) -> list[Product]:
    nodes = {t.id: t for t in order}
    found = []
    for (node_id, parent_id), cost in costs.items():
        if cost.mults == 0:
            continue
        node, parent = nodes[node_id], nodes[parent_id]
        target, via = (parent, node) if reverse else (node, parent)
        found.append(Product(describe(target), describe(via), cost.mults, cost.sym_mults))
    return found


def _check(f: Tensor, w: Tensor, order: list[Tensor]) -> None:
    if not isinstance(f, Tensor) or not isinstance(w, Tensor):
        raise EngineError("accumulation needs engine nodes (Tensor)")
    if w.id not in {t.id for t in order}:
        raise EngineError(f"{describe(f)} does not depend on {describe(w)}")


def forward_accumulation(f: Tensor, wrt: Tensor) -> Accumulation:
    """Forward mode for ∂f/∂wrt, one JVP per entry of ``wrt``: the Jacobian, the cost, and
    the Jacobians the pass carries with their peak (see the module doc for the conventions).

    Raises EngineError when f does not depend on wrt, or when the passes do not all cost the
    same (then no symbolic count exists).
    """
    order = ancestors([f])
    _check(f, wrt, order)
    n = wrt.size
    tangents: list[dict[int, Tensor]] = []
    per_pass: list[RuleCosts] = []
    with counting() as total:
        for j in range(n):
            unit = np.zeros(n)
            unit[j] = 1.0
            seed = const(unit.reshape(wrt.shape))
            seed.sym_shape = wrt.sym_shape
            costs: RuleCosts = {}
            tangents.append(forward_tangents(order, {wrt.id: seed}, costs=costs))
            per_pass.append(costs)
    shapes = {k: c.mult_shapes for k, c in per_pass[0].items()}
    if any({k: c.mult_shapes for k, c in other.items()} != shapes for other in per_pass[1:]):
        raise EngineError("the forward passes differ in their multiplications")
    jacobian = np.zeros((f.size, n))
    for j, found in enumerate(tangents):
        if f.id in found:
            jacobian[:, j] = found[f.id].value.reshape(-1)
    mode = ModeCost(
        "forward",
        n,
        _floats(wrt.sym_shape),
        total,
        _products(order, per_pass[0], reverse=False),
        jacobian,
    )
    return _carried_memory(f, wrt, order, tangents, mode)


def _carried_memory(
    f: Tensor,
    wrt: Tensor,
    order: list[Tensor],
    tangents: list[dict[int, Tensor]],
    mode: ModeCost,
) -> Accumulation:
    """Find the carried arrays (shared where a rule passed a tangent through) and the peak."""
    ops = [t for t in order if not t.is_leaf and t.id in tangents[0]]
    step = {t.id: k for k, t in enumerate(ops)}
    storage: dict[int, int] = {}  # node id -> id of the node that made its array
    holders: dict[int, list[Tensor]] = {}
    for node in ops:
        shared = next(
            (
                p
                for p in node.parents
                if p.id in storage and all(t[node.id] is t.get(p.id) for t in tangents)
            ),
            None,
        )
        storage[node.id] = storage[shared.id] if shared is not None else node.id
        holders.setdefault(storage[node.id], []).append(node)
    last_use: dict[int, int] = {}
    for k, node in enumerate(ops):
        for p in node.parents:
            if p.id in storage:
                last_use[storage[p.id]] = max(last_use.get(storage[p.id], -1), k)
    last_use[storage[f.id]] = len(ops)
    w_name, w_floats = describe(wrt), _floats(wrt.sym_shape)
    blocks: dict[int, Carried] = {}
    for sid, nodes in holders.items():
        named = [t for t in nodes if t.name]
        head = named[-1] if named else nodes[0]
        rows = _floats(head.sym_shape) if head.shape else sympy.Integer(1)
        blocks[sid] = Carried(
            f"∂{describe(head)}/∂{w_name}",
            tuple(describe(t) for t in nodes),
            (head.size, wrt.size),
            (rows, w_floats),
            int(np.sum([t[head.id].size for t in tangents])),
            sympy.expand(rows * w_floats),
        )
    steps: list[dict[str, Any]] = []
    sums: set[sympy.Expr] = set()
    best: tuple[int, list[Carried]] = (-1, [])
    for k, node in enumerate(ops):
        alive = [blocks[sid] for sid in blocks if step[sid] <= k <= last_use.get(sid, step[sid])]
        floats = int(np.sum([b.floats for b in alive]))
        sym = sympy.expand(sympy.Add(*[b.sym_floats for b in alive]))
        sums.add(sym)
        steps.append(
            {
                "op": describe(node),
                "live": [b.name for b in alive],
                "floats": floats,
                "sym_floats": str(sym),
            }
        )
        if floats > best[0]:
            best = (floats, alive)
    by_node = {describe(t): blocks[storage[t.id]] for t in ops}
    return Accumulation(
        w_name,
        mode.result,
        list(blocks.values()),
        steps,
        max(best[0], 0),
        sympy.Max(*sums) if sums else sympy.Integer(0),
        best[1],
        mode,
        by_node,
    )


def reverse_accumulation(J: Tensor, wrt: Tensor) -> ModeCost:
    """Reverse mode for dJ/dwrt: one backward pass, measured like forward_accumulation.

    Raises EngineShapeError when J is not a scalar and EngineError when J does not depend
    on wrt.
    """
    order = ancestors([J])
    _check(J, wrt, order)
    if J.shape != ():
        raise EngineShapeError(f"reverse mode here needs a scalar; {describe(J)} is {J.shape}")
    costs: RuleCosts = {}
    with counting() as total:
        gradient = backward(J, [wrt], costs=costs)[0]
    return ModeCost(
        "reverse",
        1,
        sympy.Integer(1),
        total,
        _products(order, costs, reverse=True),
        gradient.value.copy(),
    )
