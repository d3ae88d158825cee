"""The engine's memory accounting of an exercise's model, traced on a batch, for the memory
kind: the itemised report, the tensors a wrong count may have added, and their float counts
at integer size points.

Inputs declared as vectors (``x: [d]``, ``y: [q]``, role ``input``) become matrices with one
column per example (d×n); a column bias added to a batch is added to every column. The
convention is the engine's (``grader.engine.memory``): floats, scalars not counted; training =
parameters + one gradient buffer each + the forward tensors the parameters' backward rules
read; prediction = parameters + the peak of the live tensors of the forward pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from grader import engine
from grader.mathexpr.to_engine import build_model

if TYPE_CHECKING:
    from grader.kinds.spec import ExerciseSpec

_TRACE_VALUES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)


@dataclass(frozen=True)
class Tensor:
    """A tensor a count may include or leave out: name, size names, and why (feedback)."""

    name: str
    sym_shape: tuple[Any, ...]
    sentence: str  # "z (h×n) is kept because ..."

    def floats(self, sizes: Mapping[str, int]) -> int:
        """Return the number of floats at ``sizes`` (size name -> value)."""
        total = 1
        for dim in self.sym_shape:
            total *= int(dim) if not isinstance(dim, sympy.Symbol) else sizes[dim.name]
        return total

    @property
    def shape_text(self) -> str:
        """Return the shape as ``h×n``."""
        return "×".join(str(d) for d in self.sym_shape)


@dataclass
class Accounting:
    """A footprint of one measure: the total and what it is made of."""

    measure: str
    total: sympy.Expr
    counted: list[Tensor]  # what the convention counts
    uncounted: list[Tensor]  # what a wrong count may have added
    unit: str = "floats"  # what is counted: floats, passes, multiplications

    def at(self, sizes: Mapping[str, int]) -> int:
        """Return the total at integer sizes."""
        values = {s: sympy.Integer(sizes[s.name]) for s in self.total.free_symbols}
        return int(self.total.xreplace(values))


def _batched_add(table: Mapping[str, Any]) -> dict[str, Any]:
    plain = table["add"]

    def add(a: Any, b: Any) -> Any:
        a_shape, b_shape = np.shape(getattr(a, "value", a)), np.shape(getattr(b, "value", b))
        if len(a_shape) == 2 and len(b_shape) == 2 and a_shape != b_shape:
            if b_shape == (a_shape[0], 1):
                return engine.add_bias(a, b)
            if a_shape == (b_shape[0], 1):
                return engine.add_bias(b, a)
        return plain(a, b)

    return {**dict(table), "add": add}


def trace_sizes(names: list[str], holds: Any) -> dict[str, int]:
    """Return distinct sizes for ``names`` for which ``holds(sizes)`` is true (tried over
    the orderings of a few primes), for tracing in the regime the part assumes."""
    base = list(_TRACE_VALUES[: len(names)])
    for order in itertools.permutations(base):
        sizes = dict(zip(names, order, strict=True))
        if holds(sizes):
            return sizes
    raise ValueError("no sizes satisfy the part's assumptions")


def trace_batch(spec: ExerciseSpec, values: Mapping[str, int], batch: str) -> engine.Model:
    """Return the model traced on a batch of ``batch`` examples, with size symbols, at
    ``values`` (size name -> value, the batch included)."""
    from grader.kinds.instances import namespace_for

    rng = np.random.default_rng(0)
    leaves = {}
    for name, variable in spec.variables.items():
        symbols: list[Any] = list(variable.shape)
        if variable.role == "input" and len(symbols) == 1:
            symbols.append(batch)
        elif len(symbols) == 1:
            symbols.append(1)
        shape = tuple(values[s] if isinstance(s, str) else int(s) for s in symbols)
        low, high = variable.range
        leaves[name] = engine.leaf(rng.uniform(low, high, size=shape), name, tuple(symbols))
    phi = next(iter(spec.functions.values())).choices[0] if spec.functions else "tanh"
    table = _batched_add(engine.ops_table(phi=phi))
    params = [n for n, v in spec.variables.items() if v.role == "parameter"]
    return build_model(
        spec.model,
        leaves,
        namespace_for(spec),
        ops=table,
        sizes={n: values[n] for n in spec.dims},
        params=params,
    )


def _tensor(item: engine.MemoryItem, sentence: str | None = None) -> Tensor:
    return Tensor(item.name, tuple(item.sym_shape), sentence or item.explain())


def _forward(root: engine.Tensor) -> list[engine.Tensor]:
    return [t for t in engine.ancestors([root]) if t.shape != () and not t.is_constant]


def _shape(t: engine.Tensor | engine.MemoryItem) -> str:
    return "×".join(str(d) for d in t.sym_shape)


def accounting(
    spec: ExerciseSpec,
    measure: str,
    batch: str,
    output: str,
    objective: str,
    values: Mapping[str, int],
) -> Accounting:
    """Return the engine's footprint of ``measure`` ("training" or "prediction"), traced at
    ``values`` (which decide the peak's tensors for prediction)."""
    model = trace_batch(spec, values, batch)
    params = [model[n] for n in model.params]
    param_ids = {p.id for p in params}
    if measure == "training":
        report = engine.training_memory(model[objective], params)
        # The likelier omissions first: saved activations, then gradient buffers.
        order = {"saved": 0, "gradient": 1, "parameter": 2}
        counted = [_tensor(i) for i in sorted(report.items, key=lambda i: order[i.category])]
        kept = {i.name for i in report.items}
        uncounted = [
            Tensor(
                engine.describe(t),
                tuple(t.sym_shape),
                f"{engine.describe(t)} ({_shape(t)}) is not kept: no backward rule that the "
                "parameters' gradients need reads it",
            )
            for t in _forward(model[objective])
            if t.id not in param_ids and engine.describe(t) not in kept
        ]
        uncounted += [
            Tensor(
                f"dJ/d{name}",
                tuple(model[name].sym_shape),
                f"dJ/d{name} ({_shape(model[name])}) is a transient buffer of the backward "
                "pass, which the convention does not count",
            )
            for name in model.nodes
            if model[name].shape != () and not model[name].is_leaf
        ]
    else:
        report = engine.prediction_memory(model[output], params)
        counted = [
            _tensor(
                i,
                f"{i.name} ({_shape(i)}) is live at the peak of the forward pass",
            )
            for i in report.peak_items
        ]
        counted += [_tensor(i) for i in report.items]
        live = {i.name for i in report.peak_items}
        uncounted = [
            Tensor(
                engine.describe(t),
                tuple(t.sym_shape),
                f"{engine.describe(t)} ({_shape(t)}) is not live at the peak: it is freed "
                "after its last use, or not yet computed",
            )
            for t in _forward(model[output])
            if t.id not in param_ids and engine.describe(t) not in live
        ]
        uncounted += [
            Tensor(
                f"dJ/d{p.label}",
                tuple(p.sym_shape),
                f"dJ/d{p.label} ({_shape(p)}): prediction computes no gradients",
            )
            for p in params
        ]
    uncounted += [
        Tensor(t.name, t.sym_shape, f"{t.name} ({t.shape_text}) is counted twice") for t in counted
    ]
    return Accounting(measure, sympy.simplify(report.sym_total), counted, uncounted)
