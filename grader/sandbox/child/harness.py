"""The child harness: load the inputs, run the student's module, call the entry point, save.

Runs in the student's process after confinement, so nothing it reports is trusted: the parent
re-validates every array it receives. It validates nothing itself beyond what is needed to
serialise the results without pickle (plain, non-object ndarrays only).
"""

import json
import os
import runpy
import sys
import traceback

import numpy as np

SOURCE_NAME = "submission.py"
INPUTS_NAME = "inputs.npz"
OUTPUTS_NAME = "outputs.npz"
META_NAME = "meta.json"
MAX_TRACEBACK = 8000
MAX_KEYS = 64


def _describe(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"[:120]


def trimmed_traceback(exc: BaseException, source_path: str) -> str:
    """Return the traceback of ``exc`` limited to the frames in the student's own file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source_path]
    text = "".join(traceback.format_exception_only(type(exc), exc))
    if frames:
        text = (
            "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text
        )
    return text.replace(source_path, SOURCE_NAME)[-MAX_TRACEBACK:]


def _load_calls(work_dir: str, header: dict) -> list[dict]:
    calls: list[dict] = [{} for _ in range(header["calls"])]
    scalars = set(header["scalars"])
    with np.load(os.path.join(work_dir, INPUTS_NAME), allow_pickle=False) as npz:
        for key in npz.files:
            index, name = key.split("__", 1)
            value = npz[key]
            calls[int(index[1:])][name] = float(value) if key in scalars else value
    return calls


def _collect(index: int, returned: object, arrays: dict, problems: dict) -> None:
    if not isinstance(returned, dict):
        problems[f"c{index}"] = f"returned {_describe(returned)}, expected a dict of arrays"
        return
    for count, (name, value) in enumerate(returned.items()):
        if count >= MAX_KEYS:
            break
        if type(name) is not str or not name.isidentifier() or len(name) > 64:
            continue
        if type(value) is np.ndarray and value.dtype.kind in "biufc":
            arrays[f"c{index}__{name}"] = value
        else:
            problems[f"c{index}__{name}"] = _describe(value)


def run(work_dir: str, header: dict) -> None:
    """Run the job described by ``header`` in ``work_dir``; write outputs and meta files."""
    source_path = os.path.join(work_dir, SOURCE_NAME)
    meta: dict = {"status": "ok", "traceback": "", "problems": {}, "completed": 0}
    arrays: dict = {}
    try:
        calls = _load_calls(work_dir, header)
        namespace = runpy.run_path(source_path, run_name="submission")
        entry = namespace.get(header["entry"])
        if not callable(entry):
            raise NameError(f"the code does not define a function {header['entry']!r}")
        for index, kwargs in enumerate(calls):
            returned = entry(**kwargs)
            _collect(index, returned, arrays, meta["problems"])
            meta["completed"] = index + 1
    except MemoryError as exc:
        meta["status"] = "memory_limit"
        meta["traceback"] = trimmed_traceback(exc, source_path)
    except BaseException as exc:  # the student's code may raise anything, SystemExit included
        meta["status"] = "exception"
        meta["traceback"] = trimmed_traceback(exc, source_path)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    try:
        np.savez(os.path.join(work_dir, OUTPUTS_NAME), allow_pickle=False, **arrays)
    except BaseException as exc:
        meta["status"] = "memory_limit" if isinstance(exc, MemoryError) else "exception"
        meta["traceback"] = f"the results could not be saved: {_describe(exc)}"
    with open(os.path.join(work_dir, META_NAME), "w", encoding="utf-8") as handle:
        json.dump(meta, handle)
