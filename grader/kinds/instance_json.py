"""One exercise's random instance as JSON (``grader exercises instance``): each trial's sizes,
bound functions, input values and the reference value of every formula part (and the count
of every memory part), so a student or instructor can check answers by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.kinds.base import GradingContext
from grader.kinds.formula_values import reference_values, spec_plan
from grader.kinds.instances import trials_of
from grader.kinds.memory import MemoryPart, account_of
from grader.kinds.spec import ExerciseSpec


def _array(value: np.ndarray) -> Any:
    """Return an array as nested lists (columns stay n×1), a scalar as a float."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value).tolist()


def instance(spec: ExerciseSpec, seed: int, trial: int | None = None) -> dict[str, Any]:
    """Return ``{"slug", "seed", "trials": [{"dims", "functions", "inputs", "reference"}]}``.

    ``trial`` selects one trial by its 0-based index. Raises IndexError for a trial the
    exercise does not have.
    """
    ctx = GradingContext(spec, seed)
    trials = trials_of(ctx)
    if trial is not None and not 0 <= trial < len(trials):
        raise IndexError(
            f"trial {trial} does not exist: this exercise has trials 0 to {len(trials) - 1}"
        )
    plan = spec_plan(spec)
    references = {pid: reference_values(ctx, plan, pid) for pid in plan.parts}
    counts = {p.id: str(account_of(p, spec).total) for p in spec.parts if isinstance(p, MemoryPart)}
    chosen = range(len(trials)) if trial is None else [trial]
    return {
        "slug": spec.slug,
        "seed": seed,
        "trials": [
            {
                "index": index,
                "dims": dict(trials[index].sizes),
                "functions": dict(trials[index].functions),
                "inputs": {name: _array(v) for name, v in trials[index].inputs.items()},
                "reference": {
                    **{pid: _array(values[index]) for pid, values in references.items()},
                    **counts,
                },
            }
            for index in chosen
        ],
    }
