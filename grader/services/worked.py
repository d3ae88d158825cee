"""A worked backprop a student steps through on a submission's page: the computational graph
of the student's own instance (the first trial the submission was graded on), a forward step
per operator (its value and its local derivatives) and a backward step per operator input (the
chain-rule product and its value), with the student's first wrong part marked on its node.

Every number comes from the reference engine on that instance: values from the traced model,
gradients from ``grad``, and each backward step's value from the op's own backward rule
applied to the upstream gradient. Text is built here; the page only displays it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np

from grader import engine
from grader.engine.tensor import recording
from grader.kinds.base import GradingContext

log = logging.getLogger(__name__)

# Exercises whose result page shows the worked backprop. There are no feedback levels yet;
# when assignments get them, the level decides instead of this list.
WORKED_EXERCISES = frozenset({"backprop-bias", "forward-vs-reverse", "squared-loss"})
MAX_SHOWN = 8  # rows and columns of a value shown; larger arrays are cut with "…"
_GRAD = re.compile(r"^\s*grad\(\s*([A-Za-z]\w*)\s*,\s*([A-Za-z]\w*)\s*\)\s*$")

# op -> (the result as an expression, then per input: local derivative, chain-rule product),
# with {a} {b} the inputs, {u} the result, {g} its gradient ∂J/∂u and {p} an exponent.
_RULES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "matmul": (
        "{a} {b}",
        (
            ("∂({a} {b})/∂{a}: multiply by {b}ᵀ on the right", "{g} {b}ᵀ"),
            ("∂({a} {b})/∂{b}: multiply by {a}ᵀ on the left", "{a}ᵀ {g}"),
        ),
    ),
    "add": ("{a} + {b}", (("∂{u}/∂{a} = I", "{g}"), ("∂{u}/∂{b} = I", "{g}"))),
    "add_bias": ("{a} + {b}", (("∂{u}/∂{a} = I", "{g}"), ("∂{u}/∂{b} = I", "{g}"))),
    "sub": ("{a} − {b}", (("∂{u}/∂{a} = I", "{g}"), ("∂{u}/∂{b} = −I", "−{g}"))),
    "mul": (
        "{a} ⊙ {b}",
        (("∂{u}/∂{a} = diag({b})", "{g} ⊙ {b}"), ("∂{u}/∂{b} = diag({a})", "{g} ⊙ {a}")),
    ),
    "scale": ("{a} · {b}", (("∂{u}/∂{a} = {b}", "{b} · {g}"), ("∂{u}/∂{b} = {a}", "{a} · {g}"))),
    "div": (
        "{a} / {b}",
        (("∂{u}/∂{a} = 1/{b}", "{g} / {b}"), ("∂{u}/∂{b} = −{u}/{b}", "−{g} ⊙ {u} / {b}")),
    ),
    "phi": ("φ({a})", (("∂{u}/∂{a} = diag(φ′({a}))", "{g} ⊙ φ′({a})"),)),
    "l": (
        "‖{a} − {b}‖²",
        (
            ("∂{u}/∂{a} = 2({a} − {b})ᵀ", "2({a} − {b}) · {g}"),
            ("∂{u}/∂{b} = −2({a} − {b})ᵀ", "−2({a} − {b}) · {g}"),
        ),
    ),
    "norm": ("‖{a}‖", (("∂{u}/∂{a} = {a}/‖{a}‖", "{g} · {a}/‖{a}‖"),)),
    "pow": ("{a}^{p}", (("∂{u}/∂{a} = {p} {a}^({p}−1)", "{g} · {p} {a}^({p}−1)"),)),
    "identity": ("{a}", (("∂{u}/∂{a} = I", "{g}"),)),
    "transpose": ("{a}ᵀ", (("∂{u}/∂{a}: transpose back", "{g}ᵀ"),)),
}


def _rule(t: engine.Tensor) -> tuple[str, tuple[tuple[str, str], ...]]:
    op = t.op or ""
    if op == "mul" and any(p.shape == () for p in t.parents):
        op = "scale"
    return _RULES.get(op, (f"{engine.op_label(op)}(…)", ()))


_ATOMIC = frozenset({"phi", "l", "norm", "pow", "transpose", "identity"})


def _label(t: engine.Tensor) -> str:
    """How a node is written inside another's expression: its name, a number, or (expr)."""
    if t.name or t.is_leaf:
        return t.label if t.shape or not t.is_constant else f"{t.item():g}"
    return _expression(t) if t.op in _ATOMIC else f"({_expression(t)})"


def _expression(t: engine.Tensor) -> str:
    """The op that computed ``t`` written with its inputs' labels: ``(W1 x) + b1``."""
    labels = [_label(p) for p in t.parents] + ["", ""]
    return _rule(t)[0].format(a=labels[0], b=labels[1], p=_exponent(t))


def _exponent(t: engine.Tensor) -> str:
    return f"{t.attrs['exponent']:g}" if "exponent" in t.attrs else ""


def _names(t: engine.Tensor, objective: str = "J") -> dict[str, str]:
    """The names a rule's text uses: inputs a and b, result u, its gradient g, exponent p."""
    labels = [_label(p) for p in t.parents] + ["", ""]
    u = t.name or _label(t)
    g = "1" if t.name == objective else f"∂{objective}/∂{u}"
    return {"a": labels[0], "b": labels[1], "u": u, "g": g, "p": _exponent(t)}


def shows_worked(slug: str) -> bool:
    """Return True when the result page of exercise ``slug`` shows the worked backprop."""
    return slug in WORKED_EXERCISES


def _shown(value: np.ndarray) -> list[list[str]] | str:
    """A value for display: a scalar as text, an array as rows of text, cut at MAX_SHOWN."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return f"{float(arr):.4g}"
    rows = [
        [f"{v:.3g}" for v in row[:MAX_SHOWN]] + (["…"] if arr.shape[1] > MAX_SHOWN else [])
        for row in arr[:MAX_SHOWN]
    ]
    if arr.shape[0] > MAX_SHOWN:
        rows.append(["…"])
    return rows


def _targets(spec: Any, objective: str) -> dict[str, tuple[str, str]]:
    """Formula parts whose reference is a model quantity (forward) or grad(objective, name)
    (backward): part id -> (phase, quantity)."""
    found: dict[str, tuple[str, str]] = {}
    for part in spec.parts:
        reference = getattr(part, "reference", None)
        if part.kind != "formula" or not isinstance(reference, str):
            continue
        if reference.strip() in spec.model:
            found[part.id] = ("forward", reference.strip())
        match = _GRAD.match(reference)
        if match and match.group(1) == objective:
            found[part.id] = ("backward", match.group(2))
    return found


def worked_backprop(spec: Any, seed: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return the worked backprop of a submission (``seed``, part ``results`` by id) as a
    JSON-ready dict: ``graph``, ``steps``, the instance's ``sizes`` and ``functions``, and
    ``wrong`` (the first wrong formula part that names a node, or None).

    Raises ValueError when the exercise has no model to step through.
    """
    from grader.kinds.instances import trials_of

    trial = trials_of(GradingContext(spec, seed))[0]
    model = trial.model
    if model is None or not spec.model:
        raise ValueError(f"exercise {spec.slug} has no model to step through")
    objective = "J" if "J" in spec.model else list(spec.model)[-1]
    J = model[objective]
    graph, source, operator = engine.traced_graph(J)
    order = [t for t in engine.ancestors([J]) if t.id in source]
    grads = dict(zip([t.id for t in order], engine.grad(J, order), strict=True))
    steps: list[dict[str, Any]] = []
    made_at: dict[str, int] = {}
    for t in order:
        if t.is_leaf:
            continue
        names = _names(t, objective)
        rules = zip(t.parents, _rule(t)[1], strict=False)
        locals_ = [local.format(**names) for p, (local, _) in rules if p.id in source]
        steps.append(
            {
                "phase": "forward",
                "node": operator[t.id],
                "result": source[t.id],
                "title": f"{t.name} = {_expression(t)}" if t.name else _expression(t),
                "local": "; ".join(locals_),
                "product": "",
                "value": _shown(t.value),
            }
        )
        if t.name:
            made_at[t.name] = len(steps) - 1
    last_grad: dict[str, int] = {}
    for t in reversed(order):
        if t.is_leaf:
            continue
        names = _names(t, objective)
        texts = _rule(t)[1]
        upstream = engine.const(grads[t.id])
        for index, (parent, vjp) in enumerate(zip(t.parents, t.vjps, strict=True)):
            if parent.id not in source or index >= len(texts):
                continue
            with recording(False):
                contribution = vjp(upstream)
            if contribution is None:
                continue
            local, product = texts[index]
            wrt = _label(parent)
            steps.append(
                {
                    "phase": "backward",
                    "node": operator[t.id],
                    "result": source[parent.id],
                    "title": f"∂{objective}/∂{wrt} through {engine.op_label(t.op or '')}",
                    "local": local.format(**names),
                    "product": f"∂{objective}/∂{wrt} += {product.format(**names)}",
                    "value": _shown(contribution.value),
                    "total": _shown(grads[parent.id]),
                }
            )
            if parent.name:
                last_grad[parent.name] = len(steps) - 1
    return {
        "objective": objective,
        "sizes": trial.describe_sizes(),
        "functions": dict(trial.functions),
        "graph": graph,
        "steps": steps,
        "wrong": _first_wrong(spec, objective, results, made_at, last_grad, model, source),
    }


def _first_wrong(
    spec: Any,
    objective: str,
    results: dict[str, dict[str, Any]],
    made_at: dict[str, int],
    last_grad: dict[str, int],
    model: engine.Model,
    source: dict[int, str],
) -> dict[str, Any] | None:
    """The wrong formula part whose node the steps reach first (answered parts only: an
    unanswered part differs from nothing), or None."""
    found = []
    for part_id, (phase, quantity) in _targets(spec, objective).items():
        result = results.get(part_id)
        if (
            result is None
            or result.get("correct")
            or result.get("diagnosis") == "unanswered"
            or result.get("status") != "graded"
            or quantity not in model
        ):
            continue
        step = (made_at if phase == "forward" else last_grad).get(quantity)
        if step is not None:
            found.append((step, part_id, phase, quantity, str(result.get("feedback") or "")))
    if not found:
        return None
    step, part_id, phase, quantity, feedback = min(found)
    return {
        "part": part_id,
        "phase": phase,
        "node": source[model[quantity].id],
        "step": step,
        "feedback": feedback,
    }


def worked_view(submission: Any) -> dict[str, Any] | None:
    """Return the worked backprop for a stored submission's page, or None when its exercise
    does not show one, it is not graded yet, or its model cannot be stepped through."""
    from grader.services.exercises import spec_of

    spec = spec_of(submission.version)
    if not shows_worked(spec.slug) or submission.status == "queued" or not spec.model:
        return None
    results = {part["id"]: part for part in submission.parts or []}
    try:
        return worked_backprop(spec, submission.seed, results)
    except Exception:  # an optional view: the page shows the results without it
        log.exception("no worked backprop for submission %s", submission.id)
        return None
