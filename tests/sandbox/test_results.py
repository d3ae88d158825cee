"""Attacks through the result files a job leaves: the parent must treat them as hostile input.

A malformed result is the student's doing: the run ends as the student's error with a clear
message, never as an exception in the grader, never as "sandbox unavailable" (which makes the
submission ``error`` and regradable), and never costs the grading process more memory than the
result's cap.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from grader.kinds.code_verdicts import sandbox_failed
from grader.sandbox import Limits, Status
from grader.sandbox.checks import check_outputs

from .conftest import BWRAP_MISSING, SKIP_REASON

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]
OK_META = json.dumps({"status": "ok", "traceback": "", "problems": {}, "completed": 1})


def forge(outputs: bytes | None, meta: bytes | str) -> str:
    """Return student code that leaves ``outputs`` and ``meta`` as its result files and exits."""
    meta = meta.encode() if isinstance(meta, str) else meta
    lines = ["import os", "def attack(**kw):"]
    if outputs is not None:
        lines.append(f"    open('/tmp/outputs.npz', 'wb').write({outputs!r})")
    lines += [f"    open('/tmp/meta.json', 'wb').write({meta!r})", "    os._exit(0)"]
    return "\n".join(lines) + "\n"


def assert_students_error(result) -> None:
    assert result.status is not Status.SANDBOX_UNAVAILABLE
    assert not sandbox_failed(result), result.message
    if result.status is Status.CRASHED:
        assert result.message, "a crashed run says why"


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def patch_zip(data: bytes, *, flag: int | None = None, method: int | None = None) -> bytes:
    """Set the general-purpose flag or the compression method in every header of ``data``."""
    out = bytearray(data)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (start := out.find(signature, start)) != -1:
            if flag is not None:
                out[start + flag_at : start + flag_at + 2] = struct.pack("<H", flag)
            if method is not None:
                out[start + method_at : start + method_at + 2] = struct.pack("<H", method)
            start += 4
    return bytes(out)


def lying_npy_header(count: int) -> bytes:
    """Return an archive whose member's header claims ``count`` floats (with 8 bytes of data)."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({count},), }}"
    header = header.ljust(118) + "\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(8)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("c0__y.npy", member)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "meta",
    [
        "[" * 60_000,
        '{"a":' * 900 + "1" + "}" * 900,
        json.dumps({"status": ["ok"], "traceback": "", "problems": {}, "completed": 1}),
        json.dumps({"status": {"ok": 1}, "completed": 1}),
        json.dumps({"status": "exception", "traceback": {"x": 1}, "problems": [], "completed": 1}),
        json.dumps({"status": "ok", "traceback": "", "problems": {"c0": ["x"]}, "completed": "1"}),
        json.dumps({"status": "ok", "problems": {"c0__y": {"k": 1}}, "completed": 10**400}),
        json.dumps(["ok"]),
        "null",
    ],
    ids=[
        "nested-60000",
        "nested-900",
        "status-list",
        "status-dict",
        "traceback-dict",
        "completed-text",
        "problem-dict-huge-count",
        "a-list",
        "null",
    ],
)
def test_deny_malformed_meta_json(attack, meta):
    result = attack(forge(npz(c0__y=np.ones(2)), meta), expected=[{"y": (2,)}])
    assert_students_error(result)


@pytest.mark.parametrize(
    "outputs",
    [
        patch_zip(npz(c0__y=np.ones(2)), flag=0x1),
        patch_zip(npz(c0__y=np.ones(2)), method=99),
        patch_zip(npz(c0__y=np.ones(2)), method=zipfile.ZIP_LZMA),
        lying_npy_header(10**13),
        lying_npy_header(10**6),
        b"PK\x05\x06" + bytes(18),
        b"not a zip at all",
    ],
    ids=["encrypted", "unknown-method", "lzma", "claims-1e13", "claims-1e6", "empty", "junk"],
)
def test_deny_malformed_outputs_archive(attack, outputs):
    result = attack(forge(outputs, OK_META), expected=[{"y": (2,)}])
    assert_students_error(result)
    assert result.calls[0].outputs == {}
    assert result.calls[0].problems or result.calls[0].returned


def zero_members(count: int, each: int = (8 << 20) - 4096) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(count):
            with archive.open(f"c0__m{index}.npy", "w") as member:
                np.lib.format.write_array(member, np.zeros(each // 8))
        with archive.open("c0__y.npy", "w") as member:
            np.lib.format.write_array(member, np.ones(2))
    return buffer.getvalue()


def test_deny_memory_amplification_through_many_members():
    # 64 members of 8 MiB of zeros (1 MiB compressed in all) grew the grader by 512 MiB
    data = zero_members(64)
    assert len(data) < 2 << 20
    tracemalloc.start()
    try:
        results = check_outputs(data, json.loads(OK_META), 1, [{"y": (2,)}])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert results[0].outputs["y"].tolist() == [1.0, 1.0]
    assert peak < 16 << 20, f"peak {peak >> 20} MiB"


def test_deny_memory_amplification_when_every_member_is_expected():
    # without a list of expected names, the archive's total decompressed size is capped
    data = zero_members(64)
    tracemalloc.start()
    try:
        results = check_outputs(data, json.loads(OK_META), 1, None, max_total=16 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 << 20, f"peak {peak >> 20} MiB"
    assert "too large" in results[0].problems.values()


def test_deny_memory_amplification_through_the_real_path(attack):
    source = forge(zero_members(48), OK_META)
    tracemalloc.start()
    try:
        result = attack(source, expected=[{"y": (2,)}], limits=Limits(wall_seconds=5.0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.calls[0].outputs["y"].tolist() == [1.0, 1.0]
    assert peak < 24 << 20, f"peak {peak >> 20} MiB"


def many_empty_members(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in range(count):
            archive.writestr(f"x{index}", b"")
    return buffer.getvalue()


def test_deny_memory_amplification_through_a_huge_central_directory():
    # 65,000 empty members fit in 6 MiB of archive; zipfile builds an object for every one
    data = many_empty_members(65_000)
    assert len(data) < 16 << 20
    tracemalloc.start()
    try:
        results = check_outputs(data, json.loads(OK_META), 1, [{"y": (2,)}])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert results[0].returned == "the results archive was unreadable"
    assert peak < 24 << 20, f"peak {peak >> 20} MiB"
