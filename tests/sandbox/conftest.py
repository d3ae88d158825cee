"""Fixtures for the sandbox tests: a runner for attack snippets and a leak check."""

from __future__ import annotations

import glob
import os
import tempfile
import time

import numpy as np
import pytest

from grader.sandbox import Limits, RunResult, run_code, runner
from grader.sandbox.bwrap import find_bwrap

BWRAP_MISSING = find_bwrap() is None
SKIP_REASON = "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
FAST = Limits(wall_seconds=3.0, cpu_seconds=2.0)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    """Return every live descendant of ``pid`` (zombies included)."""
    result, frontier = [], [pid]
    while frontier:
        children = _children(frontier.pop())
        result += children
        frontier += children
    return result


def nested_job_processes() -> list[int]:
    """Return host processes living two pid namespaces down (a job namespace of a zygote)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("NSpid:") and len(line.split()) >= 4:
                        found.append(int(entry))
        except OSError:
            continue
    return found


def sandbox_temp_dirs() -> set[str]:
    """Return leftover work directories of unconfined runs."""
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "grader-sandbox-*")))


@pytest.fixture
def no_leftovers():
    """Assert that a test leaves no stray process and no temp directory behind."""
    before = sandbox_temp_dirs()
    yield
    # an idle confined zygote is exactly bwrap, bwrap's pid 1 and the zygote python; an
    # unconfined one is the python alone
    expected = sum(
        len(pool._idle) * (3 if pool.confined else 1) for pool in list(runner._pools.values())
    )
    # the monitor of the last job may still be exiting right after it answered
    deadline = time.monotonic() + 2.0
    while len(descendants(os.getpid())) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    mine = descendants(os.getpid())
    assert len(mine) == expected
    # other test runs on the machine have job processes of their own: only ours count
    assert [pid for pid in nested_job_processes() if pid in mine] == []
    assert sandbox_temp_dirs() <= before


@pytest.fixture
def attack(no_leftovers):
    """Run ``source``'s function ``attack(**call)`` in the sandbox and return the result."""

    def run(
        source: str, calls: list[dict] | None = None, limits: Limits = FAST, **kwargs
    ) -> RunResult:
        return run_code(source, "attack", calls or [{}], limits, **kwargs)

    return run


def backprop_calls(n: int = 3, seed: int = 0) -> list[dict[str, np.ndarray | float]]:
    """Return ``n`` small random inputs for ``backward`` (d=3, h=4, q=2)."""
    rng = np.random.default_rng(seed)
    return [
        {
            "x": rng.normal(size=3),
            "y": rng.normal(size=2),
            "W1": rng.normal(size=(4, 3)),
            "b1": rng.normal(size=4),
            "W2": rng.normal(size=(2, 4)),
            "b2": rng.normal(size=2),
            "lam": 0.1,
        }
        for _ in range(n)
    ]


BACKPROP_SOURCE = """
import numpy as np

def backward(x, y, W1, b1, W2, b2, lam):
    z = W1 @ x + b1
    h = np.tanh(z)
    o = W2 @ h + b2
    dJ_do = 2 * (o - y)
    dJ_dh = W2.T @ dJ_do
    dJ_dz = dJ_dh * (1 - h ** 2)
    return {"W1": np.outer(dJ_dz, x) + lam * W1, "b1": dJ_dz,
            "W2": np.outer(dJ_do, h) + lam * W2, "b2": dJ_do}
"""


def reference_backward(x, y, W1, b1, W2, b2, lam):
    """Independent reference (written out again here) for the allow tests."""
    h = np.tanh(W1 @ x + b1)
    g_o = 2 * (W2 @ h + b2 - y)
    g_z = (W2.T @ g_o) * (1 - h * h)
    return {
        "W1": np.outer(g_z, x) + lam * W1,
        "b1": g_z,
        "W2": np.outer(g_o, h) + lam * W2,
        "b2": g_o,
    }
