"""second-derivatives: the formula parts grade as stated, and the cost statements of the
choice part hold for the engine's own operation counts."""

from pathlib import Path

import numpy as np
import pytest

from grader import engine
from grader.catalog import parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind

SPEC = parse_exercise(
    (Path(__file__).parents[2] / "exercises" / "second-derivatives.yaml").read_text()
)


@pytest.mark.parametrize(
    ("part_id", "answer", "correct", "diagnosis"),
    [
        ("d2J_db2", "2*eye(q)", True, "correct"),
        ("d2J_db2", "2 eye(q)", True, "correct"),
        ("d2J_db2", "eye(q) + eye(q)", True, "correct"),
        ("d2J_db2", "eye(q)", False, "mistake:1"),
        ("d2J_db2", "2", False, "mistake:0"),
        ("d2J_db2", "2*eye(q) + lam*eye(q)", False, "mistake:2"),
        ("d2J_db2", "-2*eye(q)", False, "sign"),
        ("d2J_db2", "2*eye(h)", False, "shape"),
        ("hvp_W2", "2*V @ h @ h.T + lam*V", True, "correct"),
        ("hvp_W2", "2 V h hᵀ + λ V", True, "correct"),
        ("hvp_W2", "2*outer(V @ h, h) + lam*V", True, "correct"),
        ("hvp_W2", "2*V @ h @ h.T", False, "mistake:0"),
        ("hvp_W2", "V @ h @ h.T + lam*V", False, "mistake:1"),
        ("hvp_W2", "2*(o - y) @ h.T + lam*W2", False, "mistake:2"),
        ("hvp_W2", "4*V @ h @ h.T + 2*lam*V", False, "factor:2"),
    ],
)
def test_formula_parts(part_id, answer, correct, diagnosis):
    kind = get_kind("formula")
    result = kind.grade(SPEC.part(part_id), answer, GradingContext(SPEC, 17))
    assert (result.correct, result.diagnosis) == (correct, diagnosis), result.feedback


def test_examples_and_self_test():
    ctx = GradingContext(SPEC, 3)
    for example in SPEC.examples:
        part = SPEC.part(example.part)
        result = get_kind(part.kind).grade(part, example.answer, ctx)
        assert result.correct == example.correct, example.answer
        assert example.feedback is None or example.feedback in result.feedback
    for part in SPEC.parts:
        kind = get_kind(part.kind)
        for case in kind.self_test_cases(part, SPEC):
            assert kind.grade(part, case.answer, ctx).correct == case.correct


def _model(d: int, h: int, q: int, seed: int = 0) -> engine.Model:
    rng = np.random.default_rng(seed)
    return engine.chapter_model(
        rng.normal(size=d),
        rng.normal(size=q),
        rng.normal(size=(h, d)),
        rng.normal(size=h),
        rng.normal(size=(q, h)),
        rng.normal(size=q),
        0.3,
    )


@pytest.mark.parametrize(("d", "h", "q"), [(3, 5, 2), (20, 30, 10), (60, 90, 40)])
def test_a_hessian_vector_product_costs_a_small_constant_times_a_gradient(d, h, q):
    model = _model(d, h, q)
    report = engine.costs(model["J"], model.parameters(), hessian_limit=0)
    gradient = report.forward.flops + report.backward.flops
    assert 1.0 < report.hvp.flops / gradient <= 4.0  # "about 2–4×, whatever the size"


def test_the_full_hessian_costs_about_one_product_per_parameter():
    model = _model(3, 4, 2)
    params = model.parameters()
    report = engine.costs(model["J"], params, hessian_limit=64)
    count = sum(p.size for p in params)
    gradient = report.forward.flops + report.backward.flops
    assert report.hessian is not None
    assert 0.5 * count <= report.hessian.flops / report.hvp.flops <= 2 * count
    assert report.hessian.flops > 10 * gradient  # not "about as much as one gradient"
    key = set(SPEC.part("cost").answer)
    assert key == {"hvp_constant", "hessian_per_parameter"}


@pytest.mark.parametrize("answer", ["2*eye(4)", "2*eye(3) + 0*eye(q)", "eye(5) @ ones(5, 1)"])
def test_a_size_written_as_a_number_is_graded_at_every_seed(answer):
    """The shape is checked on every trial: an answer right in shape only when the drawn size
    happens to equal the number is graded with a shape message, never an internal error."""
    kind = get_kind("formula")
    part = SPEC.part("d2J_db2")
    results = [kind.grade(part, answer, GradingContext(SPEC, seed=seed)) for seed in range(40)]
    for seed, result in enumerate(results):
        assert not result.correct
        assert result.diagnosis.startswith("shape"), (seed, result.feedback)
        assert "(d×d)" not in result.feedback  # the answer wrote a number, not d
