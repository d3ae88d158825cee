"""``run_code``: the public entry point that runs student code in the sandbox."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import numpy as np

from .checks import check_outputs, encode_inputs
from .pool import Zygote, ZygoteError, ZygotePool
from .results import Limits, RunResult, Status

log = logging.getLogger(__name__)
UNCONFINED_ENV = "GRADER_SANDBOX_UNCONFINED"
UNCONFINED_WARNING = "UNCONFINED RUN: student code ran WITHOUT the sandbox (development only)"
_pools: dict[tuple[tuple[str, ...], bool], ZygotePool] = {}
_pools_lock = threading.Lock()


def unconfined_requested() -> bool:
    """True when the development setting GRADER_SANDBOX_UNCONFINED=1 is in the environment."""
    return os.environ.get(UNCONFINED_ENV, "") == "1"


def get_pool(packages: tuple[str, ...] = ("numpy",), confined: bool = True) -> ZygotePool:
    """Return the process-wide warm pool for this configuration (created on first use)."""
    with _pools_lock:
        key = (tuple(packages), confined)
        if key not in _pools:
            _pools[key] = ZygotePool(key[0], confined)
        return _pools[key]


@atexit.register
def shutdown_pools() -> None:
    """Kill every warm zygote (called at interpreter exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def _decode(data: bytes, cap: int) -> str:
    return data[:cap].decode("utf-8", "replace")


def _interpret(frames: list[bytes], n_calls: int, expected, limits: Limits) -> RunResult:
    import json

    try:
        summary = json.loads(frames[0])
    except ValueError:
        summary = {}
    summary = summary if isinstance(summary, dict) else {}
    meta = summary.get("meta") if isinstance(summary.get("meta"), dict) else None
    raw = summary.get("status")
    # every value below may be of any JSON type: compare strings only, never hash or index
    allowed = {str(s): s for s in (Status.OK, Status.EXCEPTION, Status.MEMORY_LIMIT)}
    if raw == "reported":
        reported = meta.get("status") if meta else None
        status = allowed.get(reported) if isinstance(reported, str) else None
        status = status or Status.CRASHED
    else:
        known = {str(s): s for s in Status}
        status = known.get(raw, Status.CRASHED) if isinstance(raw, str) else Status.CRASHED
    traceback = meta.get("traceback", "") if meta else ""
    return RunResult(
        status=status,
        calls=check_outputs(frames[1], meta, n_calls, expected, max_total=limits.result_bytes),
        traceback=traceback[:8000] if isinstance(traceback, str) else "",
        stdout=_decode(frames[2], limits.output_bytes),
        stderr=_decode(frames[3], limits.output_bytes),
        message=str(summary.get("message", ""))[:500],
    )


def run_code(
    source: str,
    entry: str,
    calls: list[dict[str, np.ndarray | float]],
    limits: Limits | None = None,
    *,
    expected: list[dict[str, tuple[int, ...] | None]] | None = None,
    packages: tuple[str, ...] = ("numpy",),
    unconfined: bool | None = None,
    warm: bool = True,
) -> RunResult:
    """Run ``entry(**call)`` from the student's ``source`` once per call, in the sandbox.

    Returns a RunResult; failures of the student's code or of the sandbox are statuses, never
    exceptions (``sandbox_unavailable`` when bubblewrap cannot start). ``unconfined`` (default:
    the GRADER_SANDBOX_UNCONFINED=1 setting) runs without bubblewrap, for development only,
    logged loudly. ``warm=False`` starts a fresh sandbox for this run alone (the cold path).
    Raises ValueError for malformed inputs (a caller's bug, not the student's).
    """
    limits = limits or Limits()
    started = time.monotonic()
    confined = not (unconfined_requested() if unconfined is None else unconfined)
    inputs, scalars = encode_inputs(calls)
    header = {"entry": entry, "calls": len(calls), "scalars": scalars, "limits": limits.as_dict()}
    if not confined:
        log.warning(UNCONFINED_WARNING)
    pool = get_pool(packages, confined)
    try:
        zygote = pool.acquire() if warm else Zygote(tuple(packages), confined)
    except ZygoteError as exc:
        log.error("sandbox unavailable: %s", exc)
        return RunResult(
            Status.SANDBOX_UNAVAILABLE,
            message=str(exc)[:500],
            elapsed=time.monotonic() - started,
            confined=confined,
        )
    try:
        frames = zygote.run(header, source.encode("utf-8", "replace"), inputs)
    except ZygoteError as exc:
        result = RunResult(Status.CRASHED, message=str(exc)[:500])
    else:
        result = _interpret(frames, len(calls), expected, limits)
        if zygote.last_job_oom and result.status is not Status.OK:
            result.status = Status.MEMORY_LIMIT  # the job's cgroup hit memory.max
    finally:
        if warm:
            pool.release(zygote)
        else:
            zygote.kill()
    result.elapsed = time.monotonic() - started
    result.confined = confined
    if not confined:
        result.message = f"{UNCONFINED_WARNING}. {result.message}".strip()
    return result
