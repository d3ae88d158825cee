"""What the sandbox must still allow: correct numpy code runs and its results come back."""

from __future__ import annotations

import numpy as np
import pytest

from grader.sandbox import Limits, Status, check_sandbox, run_code

from .conftest import (
    BACKPROP_SOURCE,
    BWRAP_MISSING,
    SKIP_REASON,
    backprop_calls,
    reference_backward,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]
SHAPES = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_allow_correct_backprop_code(no_leftovers, warm):
    calls = backprop_calls()
    result = run_code(BACKPROP_SOURCE, "backward", calls, expected=[SHAPES] * 3, warm=warm)
    assert result.status is Status.OK and result.confined
    for call, got in zip(calls, result.calls, strict=True):
        assert got.problems == {}
        want = reference_backward(**call)
        for name, value in want.items():
            np.testing.assert_allclose(got.outputs[name], value, rtol=1e-12)


def test_allow_print_output_is_captured(no_leftovers):
    source = "import sys\ndef f(n):\n    print('n is', n)\n    sys.stderr.write('warn\\n')\n"
    source += "    return {}\n"
    result = run_code(source, "f", [{"n": 2.5}, {"n": 3.0}])
    assert result.status is Status.OK
    assert result.stdout == "n is 2.5\nn is 3.0\n" and result.stderr == "warn\nwarn\n"


def test_allow_exception_with_a_trimmed_traceback(no_leftovers):
    source = "import numpy as np\n\ndef helper(a):\n    return a @ np.ones((5, 5))\n\n"
    source += "def backward(x):\n    return {'x': helper(x)}\n"
    result = run_code(source, "backward", [{"x": np.ones(3)}])
    assert result.status is Status.EXCEPTION
    assert 'File "submission.py", line 7, in backward' in result.traceback
    assert 'File "submission.py", line 4, in helper' in result.traceback
    assert "ValueError" in result.traceback
    assert "harness" not in result.traceback and "/sandbox" not in result.traceback


def test_allow_syntax_errors_to_be_reported(no_leftovers):
    result = run_code("def backward(x:\n    pass\n", "backward", [{"x": np.ones(2)}])
    assert result.status is Status.EXCEPTION
    assert "SyntaxError" in result.traceback and "submission.py" in result.traceback


def test_allow_missing_entry_point_to_be_reported(no_leftovers):
    result = run_code("def forward(x):\n    return {}\n", "backward", [{"x": np.ones(2)}])
    assert result.status is Status.EXCEPTION
    assert "does not define a function 'backward'" in result.traceback


def test_allow_scalars_as_python_floats_and_float32_outputs(no_leftovers):
    source = "import numpy as np\ndef f(lam, v):\n    assert type(lam) is float, type(lam)\n"
    source += "    return {'v': (v * lam).astype(np.float32)}\n"
    result = run_code(source, "f", [{"lam": 0.5, "v": np.ones(2)}], Limits(wall_seconds=3))
    assert result.status is Status.OK
    assert result.calls[0].outputs["v"].dtype == np.float32


def test_allow_check_sandbox_reports_ok():
    ok, reason = check_sandbox()
    assert ok, reason
    assert "bwrap" in reason
