"""`grader exercises instance SLUG --seed N [--trial K]`: sizes, inputs and reference values."""

import json

import numpy as np

from grader.kinds.base import GradingContext
from grader.kinds.formula_values import spec_plan, student_values
from grader.kinds.instance_json import instance
from grader.mathexpr import parse
from tests.exercises.test_backprop_bias import SPEC


def test_instance_json_from_the_exercises_folder(runner):
    result = runner.invoke(args=["exercises", "instance", "backprop-bias", "--seed", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["slug"], data["seed"], len(data["trials"])) == ("backprop-bias", 5, 5)
    trial = data["trials"][0]
    d, h, q = (trial["dims"][k] for k in "dhq")
    assert np.array(trial["inputs"]["x"]).shape == (d, 1)  # vectors are columns
    assert np.array(trial["inputs"]["W1"]).shape == (h, d)
    assert isinstance(trial["inputs"]["lam"], float)
    assert np.array(trial["reference"]["dJ_dW1"]).shape == (h, d)
    assert trial["functions"]["phi"] in {"tanh", "sigmoid", "softplus"}


def test_instance_of_the_imported_version_and_one_trial(imported):
    runner = imported.test_cli_runner()
    result = runner.invoke(
        args=["exercises", "instance", "memory-footprint", "--seed", "2", "--trial", "1"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [t["index"] for t in data["trials"]] == [1]
    assert "d*n" in data["trials"][0]["reference"]["training"]
    missing = runner.invoke(
        args=["exercises", "instance", "memory-footprint", "--seed", "2", "--trial", "99"]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_reference_values_agree_with_the_closed_form():
    data = instance(SPEC, seed=11)
    ctx = GradingContext(SPEC, 11)
    plan = spec_plan(SPEC)
    closed = student_values(
        ctx,
        plan,
        "dJ_dW1",
        parse("(W2.T @ (2*(o - y)) * dphi(z)) @ x.T + lam*W1", plan.parts["dJ_dW1"].student_ns),
    )
    for trial, value in zip(data["trials"], closed, strict=True):
        np.testing.assert_allclose(np.array(trial["reference"]["dJ_dW1"]), value, rtol=1e-9)
