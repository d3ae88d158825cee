"""Trials: seeded, distinct sizes >= 2, activations cycled, model values from the engine."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.catalog import parse_exercise
from grader.kinds.instances import (
    POOL_SIZE,
    draw_trials,
    model_shapes,
    namespace_for,
    reference_value,
    student_value,
)
from grader.mathexpr import parse

FIXTURE = Path(__file__).parent.parent / "fixtures" / "chapter-model.yaml"
EXERCISES = Path(__file__).parent.parent.parent / "exercises"
SPEC = parse_exercise(FIXTURE.read_text())


def test_same_seed_same_trials_other_seed_differs():
    first, again = draw_trials(SPEC, 7), draw_trials(SPEC, 7)
    assert [t.sizes for t in first] == [t.sizes for t in again]
    assert all(
        np.array_equal(a.inputs["W1"], b.inputs["W1"]) for a, b in zip(first, again, strict=True)
    )
    other = draw_trials(SPEC, 8)
    assert [t.sizes for t in first] != [t.sizes for t in other]


def test_trials_are_copies_of_pool_instances_numbered_in_order():
    """Each trial is its pool instance with its own index: the instance itself (shared by every
    submission that draws it, with its cache) is not renumbered."""
    first, again = draw_trials(SPEC, 5), draw_trials(SPEC, 5)
    assert [t.index for t in first] == list(range(len(first)))
    pool = {id(v.cache): v for k, v in SPEC._instances.items() if isinstance(k, int)}
    for trial, same in zip(first, again, strict=True):
        base = pool[id(trial.cache)]
        assert trial is not base and trial is not same and base.index == -1
        assert trial == replace(base, index=trial.index) == same
        assert trial.cache is base.cache is same.cache and trial.inputs is base.inputs


def test_sizes_distinct_at_least_two_and_vary_between_trials():
    for seed in range(30):
        trials = draw_trials(SPEC, seed)
        combos = [tuple(t.sizes.values()) for t in trials]
        assert len(set(combos)) == len(combos)
        for combo in combos:
            assert len(set(combo)) == len(combo) and min(combo) >= 2


def test_every_activation_appears():
    functions = {t.functions["phi"] for t in draw_trials(SPEC, 3)}
    assert functions == {"tanh", "sigmoid", "softplus"}


def test_vectors_are_columns_and_values_in_range():
    trial = draw_trials(SPEC, 1)[0]
    assert trial.inputs["x"].shape == (trial.sizes["d"], 1)
    assert trial.inputs["lam"].shape == ()
    assert 0.1 <= float(trial.inputs["lam"]) <= 1.0


def test_model_shapes_in_size_names():
    assert model_shapes(SPEC) == {"z": ["h"], "h": ["h"], "o": ["q"], "L": [], "s": [], "J": []}


def test_reference_matches_the_chapter_closed_form():
    ns = namespace_for(SPEC)
    for trial in draw_trials(SPEC, 11):
        v = trial.values
        act = {
            "tanh": lambda z: 1 - np.tanh(z) ** 2,
            "sigmoid": lambda z: (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z))),
            "softplus": lambda z: 1 / (1 + np.exp(-z)),
        }[trial.functions["phi"]]
        g_o = 2 * (v["o"] - v["y"])
        g_z = (v["W2"].T @ g_o) * act(v["z"])
        expected = g_z @ v["x"].T + v["lam"] * v["W1"]
        assert np.allclose(reference_value(trial, "grad(J, W1)", ns), expected, rtol=1e-12)
        student = student_value(trial, parse("W2^T (2(o − y)) ⊙ φ'(z) xᵀ + λ W1", ns))
        assert np.allclose(student, expected, rtol=1e-12)


def test_earlier_quantities_bind_as_extra_names():
    trial = draw_trials(SPEC, 2)[0]
    ns = namespace_for(SPEC, {"dJ_do": ["q"]})
    g = 2 * (trial.values["o"] - trial.values["y"])
    value = student_value(trial, parse("W2^T dJ_do", ns), {"dJ_do": g})
    assert np.allclose(value, trial.values["W2"].T @ g)


def test_trials_come_from_the_pool_and_are_traced_once_per_instance():
    spec = parse_exercise(FIXTURE.read_text())  # a pool of its own
    drawn = [trial for seed in range(400) for trial in draw_trials(spec, seed)]
    models = {id(trial.model) for trial in drawn}
    assert len(models) <= POOL_SIZE < len(drawn)
    # the same instance drawn by two submissions is one traced object with one cache
    by_model: dict[int, list] = {}
    for trial in drawn:
        by_model.setdefault(id(trial.model), []).append(trial)
    shared = next(group for group in by_model.values() if len(group) > 1)
    assert all(t.cache is shared[0].cache and t.values is shared[0].values for t in shared)


def test_pool_instances_are_read_only():
    trial = draw_trials(SPEC, 5)[0]
    for array in (trial.inputs["W1"], trial.values["z"], trial.values["J"]):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0


def test_reference_values_are_computed_once_per_instance(monkeypatch):
    from grader.kinds import formula_values
    from grader.services.grading import grade_answers

    spec = parse_exercise((EXERCISES / "backprop-bias.yaml").read_text())
    answers = {"dJ_do": "2(o - y)", "dJ_dW1": "dJ_dz x^T + lam W1"}
    calls = []
    real = formula_values._instructor_value
    monkeypatch.setattr(
        formula_values,
        "_instructor_value",
        lambda trial, *args: calls.append(id(trial.model)) or real(trial, *args),
    )
    first = grade_answers(spec, answers, seed=1)
    computed = len(calls)
    assert computed > 0 and all(r.correct for r in first if r.part_id in answers)
    again = grade_answers(spec, answers, seed=1)  # the same instances: nothing recomputed
    assert len(calls) == computed
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]


def test_a_seed_reproduces_its_trials_in_a_fresh_process():
    script = (
        "from pathlib import Path\n"
        "from grader.catalog import parse_exercise\n"
        "from grader.kinds.instances import draw_trials\n"
        f"spec = parse_exercise(Path({str(FIXTURE)!r}).read_text())\n"
        "trials = draw_trials(spec, 99)\n"
        "print([(t.sizes, t.functions, float(t.inputs['W1'].sum())) for t in trials])\n"
    )
    here = [(t.sizes, t.functions, float(t.inputs["W1"].sum())) for t in draw_trials(SPEC, 99)]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == repr(here)
