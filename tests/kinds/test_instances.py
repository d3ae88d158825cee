"""Trials: seeded, distinct sizes >= 2, activations cycled, model values from the engine."""

from pathlib import Path

import numpy as np

from grader.catalog import parse_exercise
from grader.kinds.instances import (
    draw_trials,
    model_shapes,
    namespace_for,
    reference_value,
    student_value,
)
from grader.mathexpr import parse

SPEC = parse_exercise(
    (Path(__file__).parent.parent / "fixtures" / "chapter-model.yaml").read_text()
)


def test_same_seed_same_trials_other_seed_differs():
    first, again = draw_trials(SPEC, 7), draw_trials(SPEC, 7)
    assert [t.sizes for t in first] == [t.sizes for t in again]
    assert all(
        np.array_equal(a.inputs["W1"], b.inputs["W1"]) for a, b in zip(first, again, strict=True)
    )
    other = draw_trials(SPEC, 8)
    assert [t.sizes for t in first] != [t.sizes for t in other]


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
