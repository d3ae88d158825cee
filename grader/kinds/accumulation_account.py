"""The memory kind's measures of forward-mode accumulation against reverse mode, from the
engine's measurements (``grader.engine.accumulation``): what forward mode carries to get
∂J/∂w, its peak, and the passes and multiplications each mode executes.

Measures (``measure:`` of a memory part, with ``wrt:`` the variable differentiated against):

- ``jacobian``: the floats of the Jacobian ∂t/∂w carried for the model quantity ``of: t``;
- ``accumulation``: the peak floats of the carried Jacobians alive at once;
- ``forward-passes`` / ``reverse-passes``: the passes each mode makes for ∂J/∂w;
- ``forward-mults`` / ``reverse-mults``: the multiplications each mode executes for ∂J/∂w.

The model is traced on one example (vector inputs are single columns, whatever the batch
name), so counts are formulas in the exercise's sizes only. Each count is an
:class:`~grader.kinds.memory_account.Accounting` whose itemised terms (carried Jacobians,
products of one pass) let the memory kind name what a wrong count left out or added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy

from grader import engine
from grader.kinds.memory_account import Accounting, Tensor, trace_batch

if TYPE_CHECKING:
    from grader.kinds.spec import ExerciseSpec

MEASURES = frozenset(
    {
        "jacobian",
        "accumulation",
        "forward-passes",
        "reverse-passes",
        "forward-mults",
        "reverse-mults",
    }
)


def problems(part: Any, exercise: ExerciseSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Return problems with an accumulation measure's ``wrt`` and ``of`` fields."""
    if part.measure not in MEASURES:
        if part.wrt is not None or part.of is not None:
            return [
                (("wrt",), f"`wrt` and `of` belong to the measures {', '.join(sorted(MEASURES))}")
            ]
        return []
    if part.wrt not in exercise.variables:
        known = ", ".join(exercise.variables)
        return [(("wrt",), f"measure {part.measure} needs `wrt`, one of the variables ({known})")]
    if part.measure == "jacobian" and part.of not in exercise.model:
        known = ", ".join(exercise.model)
        return [(("of",), f"measure jacobian needs `of`, a model quantity ({known})")]
    return []


def _factors(expr: sympy.Expr) -> tuple[Any, ...]:
    """A monomial as the tuple of its factors (symbols and a whole coefficient)."""
    factors: list[Any] = []
    for arg in sympy.Mul.make_args(expr):
        base, exp = arg.as_base_exp()
        if base.is_Symbol and exp.is_Integer and exp > 0:
            factors += [base] * int(exp)
        elif arg.is_Integer:
            factors.append(int(arg))
        else:
            raise ValueError(f"not a monomial in the sizes: {expr}")
    return tuple(factors) or (1,)


def _terms(expr: sympy.Expr) -> list[tuple[Any, ...]]:
    return [_factors(term) for term in sympy.Add.make_args(sympy.expand(expr)) if term != 0]


def _text(expr: sympy.Expr) -> str:
    return str(sympy.factor(expr)).replace("**", "^").replace("*", "·")


def accumulation_accounting(spec: ExerciseSpec, part: Any, values: Mapping[str, int]) -> Accounting:
    """Return the engine's measured count of ``part.measure`` on the exercise's model, traced
    on one example at ``values`` (which decide the peak's tensors).

    Raises ValueError (with the engine's reason) when the model cannot be measured so, e.g.
    the objective does not depend on ``wrt`` or is not a scalar.
    """
    try:
        return _accounting(spec, part, values)
    except engine.EngineError as exc:
        raise ValueError(f"measure {part.measure} with respect to {part.wrt}: {exc}") from None


def _accounting(spec: ExerciseSpec, part: Any, values: Mapping[str, int]) -> Accounting:
    model = trace_batch(spec, {**values, part.batch: 1}, part.batch)
    one = {engine.size_symbol(part.batch): 1}
    J, w = model[part.objective], model[part.wrt]

    def sym(expr: sympy.Expr) -> sympy.Expr:
        return sympy.expand(engine.sym_size(expr).xreplace(one))

    if part.measure in ("forward-passes", "reverse-passes"):
        if part.measure == "forward-passes":
            total = sym(engine.forward_accumulation(J, w).forward.sym_passes)
        else:
            total = sym(engine.reverse_accumulation(J, w).sym_passes)
        return Accounting(part.measure, total, [], [], unit="passes")
    if part.measure in ("forward-mults", "reverse-mults"):
        return _mults(part, J, w, sym)
    acc = engine.forward_accumulation(J, w)
    blocks = {b.name: b for b in acc.carried}

    declared = [str(size) for size in spec.variables[part.wrt].shape]
    cols_text = "·".join(declared) or "1"

    def item(block: engine.Carried, why: str) -> Tensor:
        rows, cols = sym(block.sym_shape[0]), sym(block.sym_shape[1])
        shape = f"{_text(rows)}×{cols_text}"
        (factors,) = _terms(rows * cols)
        return Tensor(block.name, factors, f"{block.name} ({shape}) {why}")

    if part.measure == "jacobian":
        block = acc.by_node[engine.describe(model[part.of])]
        counted = [item(block, f"is carried for {part.of}")]
        others = [b for b in acc.carried if b.name != block.name]
        uncounted = [item(b, f"is carried for {', '.join(b.nodes)}, not {part.of}") for b in others]
        return Accounting(part.measure, sym(block.sym_floats), counted, uncounted)
    peak_step = max(acc.steps, key=lambda s: s["floats"])
    live = {b.name for b in acc.peak_items}
    counted = [
        item(b, f"is alive at the peak, while the pass computes the Jacobian of {peak_step['op']}")
        for b in acc.peak_items
    ]
    uncounted = [
        item(b, "is not alive at the peak: it is freed after its last use, or not made yet")
        for name, b in blocks.items()
        if name not in live
    ]
    uncounted += [Tensor(t.name, t.sym_shape, f"{t.name} is counted twice") for t in counted]
    return Accounting(part.measure, sym(acc.sym_peak), counted, uncounted)


def _mults(part: Any, J: engine.Tensor, w: engine.Tensor, sym: Any) -> Accounting:
    """The multiplications of one mode, itemised by the rules of one pass."""
    forward = part.measure == "forward-mults"
    mode = (
        engine.forward_accumulation(J, w).forward if forward else engine.reverse_accumulation(J, w)
    )
    passes = sym(mode.sym_passes)
    counted: list[Tensor] = []
    for product in mode.products:
        per_pass = sym(product.sym_mults)
        if forward:
            what = (
                f"the tangent of {product.target} from that of {product.via}: "
                f"{_text(per_pass)} multiplications in each of the {_text(passes)} passes"
            )
        else:
            what = (
                f"the gradient of {product.target} from that of {product.via}: "
                f"{_text(per_pass)} multiplications"
            )
        for factors in _terms(per_pass * passes):
            counted.append(Tensor(f"{product.target} ← {product.via}", factors, what))
    uncounted = [Tensor(t.name, t.sym_shape, f"{t.sentence} (counted twice)") for t in counted]
    return Accounting(part.measure, sym(mode.sym_mults), counted, uncounted, unit="multiplications")
