"""The memory kind's forward-mode accumulation measures: counts graded against what the engine
measures (carried Jacobians, their peak, passes, multiplications), wrong counts explained by
the tensor or product they left out, and the instructor call jacobian(f, w)."""

from pathlib import Path

import numpy as np
import pytest

from grader.catalog import CatalogError, parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.memory import account_of
from grader.kinds.registry import get_kind

ROOT = Path(__file__).parents[2]
SOURCE = (ROOT / "exercises" / "forward-vs-reverse.yaml").read_text()
SPEC = parse_exercise(SOURCE)
KIND = get_kind("memory")


def grade(part_id: str, answer: str, seed: int = 3):
    return KIND.grade(SPEC.part(part_id), answer, GradingContext(SPEC, seed))


@pytest.mark.parametrize(
    ("part", "answer"),
    [
        ("carry_z", "h*h*d"),
        ("carry_h", "h^2 d"),
        ("carry_o", "q*h*d"),
        ("peak", "2*h^2*d"),
        ("peak", "h*d*max(2*h, h + q, 3)"),
        ("passes_forward", "h*d"),
        ("passes_reverse", "1"),
        ("mults_forward", "h*d*(2*h*d + h + q*h + q)"),
        ("mults_reverse", "2*h*d + h + q*h + q"),
    ],
)
def test_counts_derived_by_hand_are_correct(part: str, answer: str) -> None:
    result = grade(part, answer)
    assert result.correct, result.feedback


@pytest.mark.parametrize(
    ("part", "answer", "diagnosis", "words"),
    [
        ("peak", "h^2*d", "missing:∂z/∂W1", "∂z/∂W1 (h×h·d) is alive at the peak"),
        ("peak", "2*h^2*d + q*h*d", "extra:∂o/∂W1", "∂o/∂W1 (q×h·d) is not alive"),
        (
            "mults_forward",
            "h*d*(h*d + h + q*h + q)",
            "missing:W1 @ x ← W1",
            "in each of the d·h passes",
        ),
        ("mults_reverse", "2*h*d + q*h + h", "missing:o ← L", "the gradient of o from that of L"),
        ("mults_reverse", "2*h*d + q*h + q", "missing:z ← h", "h multiplications"),
    ],
)
def test_a_wrong_count_names_what_it_left_out_or_added(
    part: str, answer: str, diagnosis: str, words: str
) -> None:
    result = grade(part, answer)
    assert not result.correct
    assert result.diagnosis == diagnosis
    assert words in result.feedback


@pytest.mark.parametrize(("part", "answer"), [("passes_forward", "h"), ("passes_reverse", "q")])
def test_a_wrong_count_with_nothing_to_name_gets_the_generic_feedback(part, answer) -> None:
    # no itemised terms: explaining the difference must not fail on an empty candidate list
    result = grade(part, answer)
    assert result.diagnosis == "wrong"
    assert "passes" in result.feedback


def test_a_multiplication_count_twice_too_large_is_not_called_bytes() -> None:
    result = grade("mults_reverse", "2*(2*h*d + h + q*h + q)")
    assert not result.correct and "bytes" not in result.feedback


def test_the_accounting_is_the_engines_measurement_at_random_sizes() -> None:
    account = account_of(SPEC.part("mults_forward"), SPEC)
    rng = np.random.default_rng(1)
    for _ in range(5):
        d, h, q = (int(v) for v in rng.integers(2, 300, size=3))
        assert account.at({"d": d, "h": h, "q": q, "n": 7}) == h * d * (2 * h * d + h + q * h + q)
    peak = account_of(SPEC.part("peak"), SPEC)
    assert peak.at({"d": 3, "h": 9, "q": 2, "n": 5}) == 2 * 81 * 3
    assert {t.name for t in peak.counted} == {"∂z/∂W1", "∂h/∂W1"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("    wrt: W1\n    of: z\n", "needs `wrt`"),
        ("    of: z\n", "needs `of`"),
    ],
)
def test_check_refuses_a_measure_without_its_fields(edit: str, message: str) -> None:
    broken = SOURCE.replace(
        "    wrt: W1\n    of: z\n", "    wrt: W1\n    of: z\n".replace(edit, ""), 1
    )
    with pytest.raises(CatalogError, match=message):
        parse_exercise(broken)


def test_check_refuses_wrt_on_a_training_measure() -> None:
    memory = (ROOT / "exercises" / "memory-footprint.yaml").read_text()
    broken = memory.replace("    measure: training\n", "    measure: training\n    wrt: W1\n", 1)
    with pytest.raises(CatalogError, match="belong to the measures"):
        parse_exercise(broken)


def test_jacobian_is_an_instructor_call_through_forward_mode() -> None:
    from grader.kinds.instances import draw_trials, namespace_for, reference_value

    trial = draw_trials(SPEC, seed=0, count=1)[0]
    value = reference_value(trial, "jacobian(o, x)", namespace_for(SPEC))
    v = trial.values
    local = 1 - np.tanh(v["z"]) ** 2
    assert value.shape == (trial.sizes["q"], trial.sizes["d"])
    assert np.allclose(value, v["W2"] @ (local * v["W1"]))


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("    measure: forward-passes\n    wrt: V\n", "does not depend on V"),
        ("    measure: reverse-passes\n    wrt: W1\n    objective: o\n", "needs a scalar"),
    ],
)
def test_a_measure_the_engine_cannot_take_is_a_clear_load_error(part: str, message: str) -> None:
    source = SOURCE.replace(
        "  lam: {shape: [], range",
        "  V: {shape: [q, h], role: constant}\n  lam: {shape: [], range",
    ).replace("    measure: forward-passes\n    wrt: W1\n", part, 1)
    with pytest.raises(CatalogError, match=message):
        parse_exercise(source)
