"""What grading a formula keeps between submissions (the value memo) and how it compares values."""

import threading
from dataclasses import fields

import numpy as np
import pytest

from grader.kinds.base import GradingContext, PartResult
from grader.kinds.formula import parse_answer
from grader.kinds.formula_values import (
    STUDENT_VALUES,
    ValueMemo,
    close,
    norm,
    spec_plan,
    student_values,
)
from grader.kinds.instances import trials_of
from grader.mathexpr import parse
from tests.kinds.test_formula import KIND, SPEC


def values_of(answer: str, part_id: str = "dJ_dW2", seed: int = 3) -> list[np.ndarray]:
    plan = spec_plan(SPEC)
    tree = parse_answer(answer, plan.parts[part_id])
    return student_values(GradingContext(SPEC, seed), plan, part_id, tree)


def test_a_repeated_answer_is_read_from_the_memo_with_the_same_grade():
    STUDENT_VALUES.clear()
    answer = "dJ_do @ h.T + 1.5*lam*W2"
    first = KIND.grade(SPEC.part("dJ_dW2"), answer, GradingContext(SPEC, 11))
    hits = STUDENT_VALUES.hits
    again = KIND.grade(SPEC.part("dJ_dW2"), answer, GradingContext(SPEC, 11))
    assert STUDENT_VALUES.hits == hits + SPEC.grading.trials
    assert again == first and first.diagnosis == "term:1/2*lam*W2"


def test_memo_values_are_those_evaluated_afresh_and_read_only():
    STUDENT_VALUES.clear()
    fresh = values_of("dJ_do @ h.T + lam*W2", seed=5)
    cached = values_of("dJ_do @ h.T + lam*W2", seed=5)
    assert all(a is b for a, b in zip(fresh, cached, strict=True))
    STUDENT_VALUES.clear()
    again = values_of("dJ_do @ h.T + lam*W2", seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(fresh, again, strict=True))
    with pytest.raises(ValueError, match="read-only"):
        cached[0][0, 0] = 1.0


def test_memo_knows_trees_and_instances_by_identity():
    memo = ValueMemo()
    plan = spec_plan(SPEC)
    trial = trials_of(GradingContext(SPEC, 1))[0]
    tree = parse("o - y", plan.parts["dJ_do"].student_ns)
    memo.put(tree, trial, "dJ_do", np.ones(2))
    assert memo.get(tree, trial, "dJ_do") is not None
    # an equal tree that is another object, another part, another instance: not the same key
    assert memo.get(parse("o - y", plan.parts["dJ_do"].student_ns), trial, "dJ_do") is None
    assert memo.get(tree, trial, "dJ_db2") is None
    others = [t for t in trials_of(GradingContext(SPEC, 2)) if t.cache is not trial.cache]
    assert others and all(memo.get(tree, t, "dJ_do") is None for t in others)


class FakeTrial:
    def __init__(self) -> None:
        self.cache: dict = {}


def test_memo_is_bounded_by_entries_and_by_bytes():
    memo = ValueMemo(max_entries=3, max_bytes=64 * 1024)
    tree = object()  # the memo knows keys by identity only
    trials = [FakeTrial() for _ in range(5)]
    for trial in trials:
        memo.put(tree, trial, "p", np.zeros(10))
    assert len(memo) == 3 and memo.bytes == 3 * 80
    assert memo.get(tree, trials[0], "p") is None and memo.get(tree, trials[4], "p") is not None
    memo.put(tree, trials[0], "p", np.zeros(1024))  # 8 KiB: more than a 64th of the bytes
    assert memo.get(tree, trials[0], "p") is None
    small = ValueMemo(max_entries=100, max_bytes=64 * 800)
    for trial in trials:
        small.put(tree, trial, "p", np.zeros(100))  # 800 bytes each, 3,200 at most in all
    assert small.bytes <= 64 * 800 and len(small) == 5
    for _ in range(70):
        small.put(tree, FakeTrial(), "p", np.zeros(100))
    assert small.bytes <= 64 * 800 and len(small) == 64


def test_memo_stays_consistent_under_threads():
    memo = ValueMemo(max_entries=50)
    tree, trials = object(), [FakeTrial() for _ in range(200)]

    def work(offset: int) -> None:
        for i in range(2000):
            trial = trials[(i * 7 + offset) % len(trials)]
            if memo.get(tree, trial, "p") is None:
                memo.put(tree, trial, "p", np.full(3, float(offset)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo) <= 50 and memo.bytes == 24 * len(memo)


@pytest.mark.parametrize(
    "value",
    [np.array(3.0), np.arange(5.0).reshape(5, 1), np.arange(12.0).reshape(3, 4) - 6, np.zeros(0)],
)
def test_norm_is_numpys(value):
    assert norm(value) == pytest.approx(float(np.linalg.norm(value)), rel=1e-15, abs=0)


def test_close_refuses_other_shapes_and_non_finite_values():
    reference = np.arange(6.0).reshape(3, 2)
    assert close(reference + 1e-9, reference, 1e-6, 1e-9)
    assert not close(reference + 1e-3, reference, 1e-6, 1e-9)
    assert not close(reference.T, reference, 1e-6, 1e-9)
    assert close(np.array([[2.0]]), np.array(2.0), 1e-6, 1e-9)  # a 1×1 matrix for a scalar
    for bad in (np.nan, np.inf, -np.inf):
        value = reference.copy()
        value[1, 1] = bad
        assert not close(value, reference, 1e-6, 1e-9)
        assert not close(value, reference, np.inf, np.inf)


def test_part_result_dict_holds_every_field():
    result = PartResult("z", 1.0, 2.0, False, "Off.", diagnosis="sign", details={"a": [1]})
    data = result.to_dict()
    assert set(data) == {f.name for f in fields(PartResult)} - {"part_id"} | {"id"}
    assert data["id"] == "z" and data["details"] == {"a": [1]}
    data["details"]["a"].append(2)
    assert result.details == {"a": [1]}  # a copy: the result is not changed through it
