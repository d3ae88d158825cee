"""Limits, statuses and result types of a sandboxed run (dataclasses, no behaviour)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Status(enum.StrEnum):
    """How a sandboxed run ended."""

    OK = "ok"
    EXCEPTION = "exception"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    SANDBOX_UNAVAILABLE = "sandbox_unavailable"
    CRASHED = "crashed"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run.

    ``memory_bytes`` is address space *on top of* the warm interpreter with numpy loaded;
    ``wall_seconds`` covers the whole run (all calls) and kills the job's process tree.
    """

    wall_seconds: float = 5.0
    cpu_seconds: float = 4.0
    memory_bytes: int = 256 << 20
    file_bytes: int = 8 << 20
    tmpfs_bytes: int = 16 << 20
    max_files: int = 256
    processes: int = 16
    output_bytes: int = 64 << 10
    result_bytes: int = 16 << 20

    def as_dict(self) -> dict[str, float | int]:
        """Return the limits as a JSON-ready dict (sent to the zygote)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class CallResult:
    """The checked outputs of one call of the entry point.

    ``outputs`` holds only arrays that passed the parent's checks (plain ndarray, float dtype,
    expected shape, finite); ``problems`` maps an output name to what is wrong with it, and
    ``returned`` says what is wrong with the return value as a whole (e.g. not a dict).
    """

    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    returned: str = ""


@dataclass
class RunResult:
    """The outcome of ``run_code``: status, checked outputs per call, diagnostics."""

    status: Status
    calls: list[CallResult] = field(default_factory=list)
    traceback: str = ""
    stdout: str = ""
    stderr: str = ""
    elapsed: float = 0.0
    confined: bool = True
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the code ran to completion on every call (outputs may still be wrong)."""
        return self.status is Status.OK
