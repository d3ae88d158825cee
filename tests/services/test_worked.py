"""The worked backprop of a submission: every number is the engine's on the student's first
instance, the backward steps add up to the gradients, and the first wrong part is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.catalog import parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.instances import trials_of
from grader.services.worked import worked_backprop
from tests.conftest import EXERCISES

SPEC = parse_exercise(Path(EXERCISES / "backprop-bias.yaml").read_text())


def as_array(shown) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in shown])


def test_values_are_the_engines_on_the_first_instance() -> None:
    worked = worked_backprop(SPEC, 11, {})
    trial = trials_of(GradingContext(SPEC, 11))[0]
    by_title = {s["title"]: s for s in worked["steps"]}
    assert np.allclose(as_array(by_title["z = (W1 x) + b1"]["value"]), trial.values["z"], atol=5e-3)
    assert worked["sizes"] == trial.describe_sizes()
    last_w1 = [s for s in worked["steps"] if s["title"] == "∂J/∂W1 through matmul"][-1]
    gradient = trial.model.gradients()["W1"]
    assert np.allclose(as_array(last_w1["total"]), gradient, rtol=5e-3, atol=5e-3)


def test_backward_contributions_add_up_to_each_gradient() -> None:
    worked = worked_backprop(SPEC, 3, {})
    sums: dict[str, np.ndarray] = {}
    totals: dict[str, np.ndarray] = {}
    for step in worked["steps"]:
        if step["phase"] != "backward" or isinstance(step["value"], str):
            continue
        sums[step["result"]] = sums.get(step["result"], 0) + as_array(step["value"])
        totals[step["result"]] = as_array(step["total"])
    assert {"W1", "W2", "z", "h", "o"} <= set(sums)
    for name, total in totals.items():  # W1 gets the matmul's and the penalty's contribution
        assert np.allclose(sums[name], total, rtol=1e-2, atol=1e-2), name
    phi = next(s for s in worked["steps"] if s["title"] == "∂J/∂z through phi")
    assert phi["local"] == "∂h/∂z = diag(φ′(z))"
    assert phi["product"] == "∂J/∂z += ∂J/∂h ⊙ φ′(z)"


def test_the_first_wrong_part_is_the_one_the_steps_reach_first() -> None:
    wrong = {"correct": False, "status": "graded", "diagnosis": "wrong", "feedback": "no"}
    results = {
        "z": {"correct": True, "status": "graded"},
        "dJ_db2": {"correct": False, "status": "graded", "diagnosis": "unanswered"},
        "dJ_dW1": dict(wrong),
        "dJ_dz": dict(wrong, feedback="Missing φ′(z)"),
    }
    worked = worked_backprop(SPEC, 5, results)
    first = worked["wrong"]
    assert (first["part"], first["node"], first["phase"]) == ("dJ_dz", "z", "backward")
    assert worked["steps"][first["step"]]["title"] == "∂J/∂z through phi"
    assert first["feedback"] == "Missing φ′(z)"
    results["o"] = dict(wrong)  # a forward part comes before every backward step
    assert worked_backprop(SPEC, 5, results)["wrong"]["node"] == "o"
    assert worked_backprop(SPEC, 5, {"z": {"correct": True}})["wrong"] is None
