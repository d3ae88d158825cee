"""Memory accounting for a traced model: what training keeps, what prediction needs at peak.

Convention (the one the memory exercise states to students):

- Sizes are counted in floats (numbers), not bytes; a tensor of shape (a, b) counts a·b.
- Scalars (shape (), such as lam, the loss L, a norm) are O(1) and are not counted; they are
  listed in ``ignored`` so feedback can say so.
- **Training** = the parameters + one gradient buffer per parameter (same shape) + every
  non-parameter tensor of the forward pass that the backward pass reads to compute the
  parameters' gradients. Only the backward rules on a path from a parameter to J run (so
  dJ/dx is not computed and W1 is not kept "for x"); a tensor read by several rules counts
  once; parameters read by rules (W2 for dJ/dh) are already counted. Inputs count when a
  rule reads them: x (dJ/dW1 = dJ/dz xᵀ) and y (the loss's 2(o − y)). Gradients of
  intermediates (dJ/do, dJ/dh, ...) are transient buffers of the backward pass itself and are
  not counted.
- **Prediction** = the parameters + the peak, over the ops that compute the output from the
  inputs, of the live tensors: an input is live from the start until its last use, a result
  from its op until its last use (the output until the end), and during an op its inputs and
  its result are live together. Every op writes a new tensor (no in-place updates), so the
  product W1 x and the sum W1 x + b1 are two tensors.

For the chapter's model with biases and a batch of n columns this gives
training = 2(hd + h + qh + q) + dn + 2hn + 2qn (x; z for phi'(z); h for dJ/dW2; o and y for
the loss) and prediction = hd + h + qh + q + max(dn + hn, 2hn, hn + qn, 2qn).

Every count is given numerically (from the arrays) and symbolically (from the leaves'
``shape_symbols``), with an itemised list of (name, shape, floats, why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from grader.engine.graph import op_label
from grader.engine.tensor import (
    EngineError,
    Tensor,
    ancestors,
    const,
    recording,
    tracing_reads,
)

_INFIX = {"matmul": "@", "add": "+", "add_bias": "+", "sub": "-", "mul": "*", "div": "/"}


def describe(t: Tensor, depth: int = 2, nested: bool = False) -> str:
    """A short readable name: the node's name, else its expression (``W1 @ x``), truncated."""
    if t.name or t.is_leaf:
        return t.label if t.shape or not t.is_constant else f"{t.item():g}"
    if depth == 0:
        return "…"
    infix = _INFIX.get(t.op or "") if len(t.parents) == 2 else None
    args = [describe(p, depth - 1, nested=infix is not None) for p in t.parents]
    if infix:
        text = f"{args[0]} {infix} {args[1]}"
        return f"({text})" if nested else text
    if t.op == "pow":
        return f"{args[0]}^{t.attrs['exponent']:g}"
    return f"{op_label(t.op or '')}({', '.join(args)})"


def _floats(sym_shape: tuple[Any, ...]) -> sympy.Expr:
    dims = [sympy.Integer(d) if isinstance(d, int) else d for d in sym_shape]
    return sympy.Mul(*dims)


@dataclass(frozen=True)
class MemoryItem:
    """One tensor in a footprint: its name, shapes, float counts and why it is kept."""

    name: str
    category: str  # "parameter", "gradient", "saved" or "activation"
    shape: tuple[int, ...]
    sym_shape: tuple[Any, ...]
    floats: int
    sym_floats: sympy.Expr
    why: str

    def explain(self) -> str:
        """One sentence for feedback: ``z (h×n) is kept because the backward of phi ...``."""
        shape = "×".join(str(s) for s in self.sym_shape) or "scalar"
        verb = "is" if self.category in ("parameter", "gradient") else "is kept because"
        return f"{self.name} ({shape}) {verb} {self.why}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (symbolic values as strings)."""
        return {
            "name": self.name,
            "category": self.category,
            "shape": list(self.shape),
            "sym_shape": [str(s) for s in self.sym_shape],
            "floats": self.floats,
            "sym_floats": str(self.sym_floats),
            "why": self.why,
        }


def _item(t: Tensor, category: str, why: str, name: str | None = None) -> MemoryItem:
    return MemoryItem(
        name or describe(t), category, t.shape, t.sym_shape, t.size, _floats(t.sym_shape), why
    )


@dataclass
class MemoryReport:
    """An itemised footprint: ``items`` (counted), ``ignored`` (scalars), totals.

    For prediction, ``steps`` lists the live tensors during each op and ``peak_items`` the
    live set at the (numeric) peak; ``sym_total`` then contains a sympy ``Max``.
    """

    items: list[MemoryItem]
    total: int
    sym_total: sympy.Expr
    ignored: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    peak_items: list[MemoryItem] = field(default_factory=list)

    def at(self, sizes: dict[str, int]) -> int:
        """``sym_total`` evaluated at sizes given by symbol name, e.g. {"d": 784, "n": 1}.

        Raises EngineError when a size the total depends on is missing.
        """
        values = {sym: sizes[sym.name] for sym in self.sym_total.free_symbols if sym.name in sizes}
        value = self.sym_total.subs(values)
        if value.free_symbols:
            missing = ", ".join(sorted(s.name for s in value.free_symbols))
            raise EngineError(f"no size given for {missing}")
        return int(value)

    def names(self, category: str | None = None) -> list[str]:
        """The names of the counted items (of one category if given)."""
        return [i.name for i in self.items if category is None or i.category == category]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "items": [i.as_dict() for i in self.items],
            "total": self.total,
            "sym_total": str(self.sym_total),
            "ignored": self.ignored,
            "steps": self.steps,
        }


def saved_reads(J: Tensor, params: Sequence[Tensor]) -> list[tuple[Tensor, Tensor, Tensor]]:
    """(op node, input whose gradient the rule computes, forward tensor read) triples.

    Found by running each backward rule that differentiating J in ``params`` needs, on a
    zero upstream gradient, and recording which tensors of the forward graph it touches.
    """
    order = ancestors([J])
    forward_ids = {t.id for t in order}
    wanted = {p.id for p in params}
    live: set[int] = set()
    for node in order:
        if node.id in wanted or any(p.id in live for p in node.parents):
            live.add(node.id)
    found: list[tuple[Tensor, Tensor, Tensor]] = []
    with recording(False):
        for node in reversed(order):
            if node.id not in live or node.id in wanted and not node.parents:
                continue
            upstream = const(np.zeros(node.shape))
            for parent, rule in zip(node.parents, node.vjps, strict=True):
                if parent.id not in live:
                    continue
                reads: dict[int, Tensor] = {}

                def note(t: Tensor, reads: dict[int, Tensor] = reads) -> None:
                    if t.id in forward_ids:
                        reads[t.id] = t

                with tracing_reads(note):
                    rule(upstream)
                found.extend((node, parent, t) for t in reads.values())
    return found


def training_memory(J: Tensor, params: Sequence[Tensor]) -> MemoryReport:
    """The training footprint of minimising scalar J over ``params`` (see the module doc)."""
    items = [_item(p, "parameter", "a parameter of the model") for p in params]
    items += [
        _item(p, "gradient", f"the gradient buffer dJ/d{p.label}", f"dJ/d{p.label}") for p in params
    ]
    param_ids = {p.id for p in params}
    reasons: dict[int, list[str]] = {}
    tensors: dict[int, Tensor] = {}
    for node, parent, t in saved_reads(J, params):
        if t.id in param_ids:
            continue
        tensors[t.id] = t
        why = f"the backward of {op_label(node.op or '')} reads it to get dJ/d{describe(parent)}"
        if why not in reasons.setdefault(t.id, []):
            reasons[t.id].append(why)
    ignored = []
    for tid, t in sorted(tensors.items()):
        if t.shape == ():
            ignored.append(f"{describe(t)} (a scalar, not counted)")
        else:
            items.append(_item(t, "saved", "; ".join(reasons[tid])))
    return MemoryReport(
        items,
        int(np.sum([i.floats for i in items])),
        sympy.Add(*[i.sym_floats for i in items]),
        ignored,
    )


def prediction_memory(output: Tensor, params: Sequence[Tensor]) -> MemoryReport:
    """The prediction footprint of computing ``output`` (see the module doc)."""
    order = ancestors([output])
    param_ids = {p.id for p in params}
    items = [_item(p, "parameter", "a parameter of the model") for p in params]
    ops = [t for t in order if not t.is_leaf]
    step_of = {t.id: k for k, t in enumerate(ops)}
    last_use: dict[int, int] = {output.id: len(ops)}
    for k, t in enumerate(ops):
        for p in t.parents:
            last_use[p.id] = max(last_use.get(p.id, -1), k)
    tracked = [t for t in order if t.id not in param_ids and t.shape != () and t.id in last_use]
    steps: list[dict[str, Any]] = []
    sums: set[sympy.Expr] = set()
    best: tuple[int, list[Tensor]] = (-1, [])
    for k, op in enumerate(ops):
        alive = [t for t in tracked if step_of.get(t.id, -1) <= k <= last_use[t.id]]
        floats = int(np.sum([t.size for t in alive]))
        sym = sympy.Add(*[_floats(t.sym_shape) for t in alive])
        sums.add(sym)
        steps.append(
            {
                "op": describe(op),
                "live": [describe(t) for t in alive],
                "floats": floats,
                "sym_floats": str(sym),
            }
        )
        if floats > best[0]:
            best = (floats, alive)
    sym_peak = sympy.Max(*sums) if sums else sympy.Integer(0)
    peak_items = [
        _item(t, "activation", "it is live at the peak of the forward pass") for t in best[1]
    ]
    ignored = [
        f"{describe(t)} (a scalar, not counted)"
        for t in order
        if t.shape == () and not (t.is_constant and t.is_leaf) and t.id not in param_ids
    ]
    return MemoryReport(
        items,
        int(np.sum([i.floats for i in items])) + max(best[0], 0),
        sympy.Add(*[i.sym_floats for i in items]) + sym_peak,
        ignored,
        steps,
        peak_items,
    )
