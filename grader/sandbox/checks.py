"""The parent's checks on what comes back from the sandbox: nothing is trusted.

The outputs archive is opened with ``zipfile`` so member sizes are checked before anything is
decompressed, and each member is read with ``allow_pickle=False``. An output is accepted only as
a plain ``np.ndarray`` of a float dtype, of the expected shape, with finite values.
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np

from .results import CallResult

_KEY = re.compile(r"^c(\d{1,4})__([A-Za-z_][A-Za-z0-9_]{0,63})$")
MAX_MEMBER_BYTES = 8 << 20
MAX_MEMBERS = 512


def encode_inputs(calls: list[dict[str, np.ndarray | float]]) -> tuple[bytes, list[str]]:
    """Return the inputs as ``.npz`` bytes and the keys that hold Python scalars.

    Raises ValueError for a name that is not an identifier or a value that is not numeric.
    """
    arrays: dict[str, np.ndarray] = {}
    scalars: list[str] = []
    for index, call in enumerate(calls):
        for name, value in call.items():
            if not name.isidentifier():
                raise ValueError(f"input name {name!r} is not an identifier")
            key = f"c{index}__{name}"
            array = np.array(value)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"input {name!r} is not numeric")
            if array.ndim == 0 and not isinstance(value, np.ndarray):
                scalars.append(key)
            arrays[key] = array
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue(), scalars


def _read_members(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    arrays: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    if not data:
        return arrays, bad
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()[:MAX_MEMBERS]
        for info in members:
            key = info.filename.removesuffix(".npy")
            if not _KEY.match(key):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                bad[key] = "too large"
                continue
            try:
                with archive.open(info) as member:
                    array = np.lib.format.read_array(member, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile):
                bad[key] = "not a plain numeric array"
                continue
            arrays[key] = array
    return arrays, bad


def check_array(value: object, shape: tuple[int, ...] | None) -> str:
    """Return what is wrong with an output value, or "" when it is acceptable."""
    if type(value) is not np.ndarray:
        return f"not an ndarray (got {type(value).__name__})"
    if value.dtype.kind != "f":
        return f"wrong dtype {value.dtype} (expected a float array)"
    if shape is not None and tuple(value.shape) != tuple(shape):
        return f"wrong shape {tuple(value.shape)} (expected {tuple(shape)})"
    if not np.isfinite(value).all():
        return "contains NaN or infinity"
    return ""


def check_outputs(
    data: bytes,
    meta: dict | None,
    n_calls: int,
    expected: list[dict[str, tuple[int, ...] | None]] | None,
) -> list[CallResult]:
    """Return one CallResult per call from the child's archive and its (untrusted) summary."""
    results = [CallResult() for _ in range(n_calls)]
    try:
        arrays, bad = _read_members(data)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        arrays, bad = {}, {}
        for result in results:
            result.returned = "the results archive was unreadable"
    reported = meta.get("problems", {}) if isinstance(meta, dict) else {}
    reported = reported if isinstance(reported, dict) else {}
    completed = meta.get("completed", 0) if isinstance(meta, dict) else 0
    for key, array in arrays.items():
        index, name = _KEY.match(key).groups()  # type: ignore[union-attr]  # read: matched
        if int(index) < n_calls:
            results[int(index)].outputs[name] = array
    for key, message in bad.items():
        index, name = _KEY.match(key).groups()  # type: ignore[union-attr]  # read: matched
        if int(index) < n_calls:
            results[int(index)].problems[name] = message
    for index, result in enumerate(results):
        note = reported.get(f"c{index}")
        if isinstance(note, str):
            result.returned = note[:200]
        for key, kind in reported.items():
            match = _KEY.match(key) if isinstance(key, str) else None
            if match and int(match.group(1)) == index and isinstance(kind, str):
                result.problems[match.group(2)] = f"not an ndarray (got {kind[:120]})"
        wanted = expected[index] if expected and index < len(expected) else {}
        for name in list(result.outputs):
            problem = check_array(result.outputs[name], wanted.get(name))
            if problem:
                result.problems[name] = problem
                del result.outputs[name]
        if isinstance(completed, int) and index < completed and not result.returned:
            for name in wanted:
                if name not in result.outputs and name not in result.problems:
                    result.problems[name] = "missing"
    return results
