"""The parent's checks on what comes back from the sandbox: nothing is trusted.

The outputs archive is opened with ``zipfile`` so member sizes are checked before anything is
decompressed: only the members of expected outputs are read, each within MAX_MEMBER_BYTES and
all within a total cap, each .npy header is checked against its member's declared size before
an array is allocated, and each member is read with ``allow_pickle=False``. An output is
accepted only as a plain ``np.ndarray`` of a float dtype, of the expected shape, with finite
values.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import numpy as np

from .results import CallResult

_KEY = re.compile(r"^c(\d{1,4})__([A-Za-z_][A-Za-z0-9_]{0,63})$")
MAX_MEMBER_BYTES = 8 << 20
MAX_MEMBERS = 512
MAX_TOTAL_BYTES = 16 << 20


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


# What reading one hostile member can raise: a bad archive, header or stream, an encryption
# flag (RuntimeError), an unknown compression method (NotImplementedError).
_UNREADABLE = (
    ValueError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    RuntimeError,
    NotImplementedError,
    OverflowError,
    TypeError,
)
_MAX_HEADER = 4096


_END = struct.Struct("<4s4H2LH")  # the end of central directory record
MAX_DIRECTORY_BYTES = MAX_MEMBERS * 256


def _check_directory(data: bytes) -> None:
    """Refuse an archive whose central directory is larger than MAX_DIRECTORY_BYTES or that
    uses ZIP64 records, before ``zipfile`` builds an object for every entry of it (a few MiB
    of empty entries would cost the parent hundreds). Raises zipfile.BadZipFile."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END.size - 0xFFFF))
    if at < 0 or len(data) - at < _END.size:
        raise zipfile.BadZipFile("no end of central directory record")
    entries, size = _END.unpack_from(data, at)[4:6]
    if entries > MAX_MEMBERS or size > MAX_DIRECTORY_BYTES or b"PK\x06\x07" in data[:at][-20:]:
        raise zipfile.BadZipFile("the central directory is too large")


def _wanted(key: str, n_calls: int, expected: list[dict] | None) -> bool:
    match = _KEY.match(key)
    if match is None or int(match.group(1)) >= n_calls:
        return False
    index, name = int(match.group(1)), match.group(2)
    return expected is None or (index < len(expected) and name in expected[index])


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """Read one member after checking that its header's size fits its declared size.

    The declared uncompressed size bounds what ``zipfile`` will return; a header claiming more
    elements than that is refused before anything is allocated. Raises one of _UNREADABLE.
    """
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError("encrypted or compressed with an unsupported method")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(member, max_header_size=_MAX_HEADER)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(member, max_header_size=_MAX_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        shape, _, dtype = header
        if dtype.hasobject or dtype.kind not in "biufc":
            raise ValueError("not a plain numeric dtype")
        count = 1
        for extent in shape:
            count *= extent
        if count * dtype.itemsize > info.file_size:
            raise ValueError("the header claims more data than the member holds")
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _read_members(
    data: bytes, n_calls: int, expected: list[dict] | None, max_total: int
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read the wanted members of the archive: those of an expected output name (any name
    when ``expected`` is None), each at most MAX_MEMBER_BYTES and all together at most
    ``max_total`` bytes once decompressed, checked on the declared sizes before reading."""
    arrays: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    if not data:
        return arrays, bad
    _check_directory(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = 0
        for info in archive.infolist()[:MAX_MEMBERS]:
            key = info.filename.removesuffix(".npy")
            if not _wanted(key, n_calls, expected) or key in arrays or key in bad:
                continue
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES or total > max_total:
                bad[key] = "too large"
                continue
            try:
                arrays[key] = _read_member(archive, info)
            except _UNREADABLE:
                bad[key] = "not a plain numeric array"
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
    *,
    max_total: int = MAX_TOTAL_BYTES,
) -> list[CallResult]:
    """Return one CallResult per call from the child's archive and its (untrusted) summary.

    Only the members of expected outputs are read (every well-named member when ``expected``
    is None), within ``max_total`` decompressed bytes in all.
    """
    results = [CallResult() for _ in range(n_calls)]
    try:
        arrays, bad = _read_members(data, n_calls, expected, max_total)
    except _UNREADABLE:
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
