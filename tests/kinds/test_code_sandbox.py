"""The code kind with the real sandbox: each verdict produced by a student program.

Needs bubblewrap; skipped (with the reason) where ``bwrap`` is not installed.
"""

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.catalog import parse_exercise
from grader.kinds.base import GRADED, GradingContext
from grader.kinds.instances import draw_trials
from grader.kinds.registry import get_kind

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(
        shutil.which("bwrap") is None,
        reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
SPEC = parse_exercise((ROOT / "exercises" / "backprop-code.yaml").read_text())
PART = SPEC.part("code")
# tighter limits so the failing programs fail fast
QUICK = PART.model_copy(update={"time_limit": 1.5, "memory_limit": 64, "output_limit": 16})
KIND = get_kind("code")

HEADER = """
import numpy as np

def gradients(x, y, W1, b1, W2, b2, lam):
    h = np.tanh(W1 @ x + b1)
    g_o = 2 * (W2 @ h + b2 - y)
    g_z = (W2.T @ g_o) * (1 - h * h)
    return {"W1": np.outer(g_z, x) + lam * W1, "b1": g_z,
            "W2": np.outer(g_o, h) + lam * W2, "b2": g_o}
"""


def grade(body, part=QUICK, seed=3):
    source = HEADER + textwrap.dedent(body)
    return KIND.grade(part, source, GradingContext(SPEC, seed))


def outputs(result):
    return {name: v["verdict"] for name, v in result.details["outputs"].items()}


def test_correct_code_scores_full_marks():
    result = grade(
        """
        def backward(x, y, W1, b1, W2, b2, lam):
            return gradients(x, y, W1, b1, W2, b2, lam)
    """,
        part=PART,
    )
    assert result.correct and result.score == 4 and result.diagnosis == "correct"
    assert result.details["confined"] is True and result.details["run"] == "ok"


def test_vectors_as_columns_and_as_1d_both_accepted():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            return {"W1": g["W1"], "b1": g["b1"].reshape(-1, 1), "W2": g["W2"],
                    "b2": g["b2"][:, None]}
    """)
    assert result.correct, result.feedback


def test_wrong_shape():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            g["b1"] = g["b1"][None, :]
            return g
    """)
    assert outputs(result)["b1"] == "wrong-shape" and result.score == 3
    assert "b1 has shape (1, h) but should have shape (h,) or (h, 1)" in result.feedback


def test_wrong_values_with_where():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            g["W2"] = g["W2"].copy()
            g["W2"][1, 0] += 1.0
            return g
    """)
    assert outputs(result)["W2"] == "wrong-values" and result.score == 3
    assert "largest error is at W2[1, 0]" in result.feedback
    assert result.details["outputs"]["W2"]["index"] == [1, 0]


def test_nan_is_not_finite():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            g["b2"] = g["b2"] * np.nan
            return g
    """)
    assert outputs(result)["b2"] == "not-finite" and "NaN" in result.feedback


def test_missing_key():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            del g["W1"]
            return g
    """)
    assert outputs(result)["W1"] == "missing" and result.diagnosis == "missing-output"
    assert "no key 'W1'" in result.feedback and result.score == 3


def test_returns_a_list_instead_of_a_dict():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            return [g["W1"], g["b1"], g["W2"], g["b2"]]
    """)
    assert result.score == 0 and result.diagnosis == "not-a-dict"
    assert "list" in result.feedback and "dict" in result.feedback


def test_a_list_value_instead_of_an_array():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            g["b2"] = g["b2"].tolist()
            return g
    """)
    assert outputs(result)["b2"] == "invalid-value" and "numpy array" in result.feedback


def test_exception_with_traceback_trimmed_to_the_students_code():
    result = grade("""
        def helper(v):
            return v["nope"]

        def backward(x, y, W1, b1, W2, b2, lam):
            return helper({})
    """)
    assert result.diagnosis == "exception" and result.score == 0
    assert "KeyError: 'nope'" in result.feedback
    assert 'File "submission.py"' in result.feedback and "in helper" in result.feedback
    assert "harness" not in result.feedback and "/sandbox" not in result.feedback


def test_infinite_loop_hits_the_time_limit():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            while True:
                pass
    """)
    assert result.diagnosis == "time-limit" and result.score == 0 and result.status == GRADED
    assert "1.5 s" in result.feedback


def test_memory_bomb_hits_the_memory_limit():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            blocks = []
            while True:
                blocks.append(np.ones(10**7))
    """)
    assert result.diagnosis == "memory-limit" and result.score == 0
    assert "64 MiB" in result.feedback


def test_print_flood_hits_the_output_limit():
    result = grade("""
        def backward(x, y, W1, b1, W2, b2, lam):
            while True:
                print("spam " * 100)
    """)
    assert result.diagnosis == "output-limit" and result.score == 0


def test_exiting_early_is_a_crash_of_the_students_code():
    result = grade("""
        import os

        def backward(x, y, W1, b1, W2, b2, lam):
            os._exit(3)
    """)
    assert result.status == GRADED and result.diagnosis == "crashed" and result.score == 0
    assert "exited (status 3)" in result.feedback


def test_partial_credit_missing_weight_decay():
    result = grade(
        """
        def backward(x, y, W1, b1, W2, b2, lam):
            g = gradients(x, y, W1, b1, W2, b2, lam)
            g["W1"] = g["W1"] - lam * W1
            g["W2"] = g["W2"] - lam * W2
            return g
    """,
        part=PART,
    )
    assert result.score == 2 and outputs(result) == {
        "W1": "wrong-values",
        "b1": "correct",
        "W2": "wrong-values",
        "b2": "correct",
    }
    assert result.diagnosis == "missing-term:lam*W1"


def test_input_mutation_does_not_affect_the_references():
    from grader.kinds.instances import trials_of

    before = draw_trials(SPEC, 3)
    ctx = GradingContext(SPEC, 3)
    result = KIND.grade(
        PART,
        HEADER
        + textwrap.dedent("""
        def backward(x, y, W1, b1, W2, b2, lam):
            g = {k: v.copy() for k, v in gradients(x, y, W1, b1, W2, b2, lam).items()}
            for a in (x, y, W1, b1, W2, b2):
                a[...] = 1e6
            return g
    """),
        ctx,
    )
    assert result.correct, result.feedback
    # the trials (and so the references) the parent holds are untouched by the child
    for fresh, used in zip(before, trials_of(ctx), strict=True):
        for name, value in fresh.values.items():
            assert np.array_equal(value, used.values[name]), name
    # the same mutation *before* computing makes the student's own answer wrong, nothing else
    spoiled = grade(
        """
        def backward(x, y, W1, b1, W2, b2, lam):
            b2[:] = 0.0
            return gradients(x, y, W1, b1, W2, b2, lam)
    """,
        part=PART,
    )
    assert not spoiled.correct and spoiled.diagnosis == "wrong-values"


@pytest.mark.parametrize("module", ["grader", "torch", "jax", "autograd"])
def test_autodiff_and_service_modules_cannot_be_imported(module):
    result = grade(f"""
        import {module}

        def backward(x, y, W1, b1, W2, b2, lam):
            return gradients(x, y, W1, b1, W2, b2, lam)
    """)
    assert result.diagnosis == "exception" and result.score == 0
    assert f"No module named '{module}'" in result.feedback


def test_worker_start_warms_the_sandbox_pool():
    from celery.signals import worker_process_init

    from grader.sandbox import get_pool
    from grader.tasks import warm_sandbox_pool

    receivers = [ref() for _key, ref in worker_process_init.receivers]
    assert warm_sandbox_pool in receivers
    assert warm_sandbox_pool() is True
    pool = get_pool(("numpy",), True)
    assert len(pool._idle) == pool.size
