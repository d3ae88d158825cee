"""Warm zygote processes and the pool that lends them out, one job at a time each.

A zygote is started once (bwrap + Python + ``import numpy``, the cold start) and then forks a
fresh, separately namespaced child per job. The pool keeps up to ``size`` idle zygotes; a
zygote that misbehaves (no answer by the deadline, a broken pipe) is killed, never reused.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time

from .bwrap import SANDBOX_ENV, SandboxSetupError, zygote_command
from .cgroup import ZygoteCgroup, configured_parent
from .child import wire
from .seccomp_policy import job_filter, zygote_filter

log = logging.getLogger(__name__)
START_TIMEOUT = 20.0
REPLY_GRACE = 3.0
MAX_REPLY = 64 << 20
MAX_JOBS_PER_ZYGOTE = 500


class ZygoteError(RuntimeError):
    """The zygote did not start, or stopped answering; it has been killed."""


def _reader(fd: int, deadline: float):
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)

    def read(_fd: int, n: int) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            raise ZygoteError("the sandbox did not answer in time")
        return os.read(fd, n)

    return read, selector


class Zygote:
    """One warm sandboxed interpreter. Not thread-safe: the pool lends it to one caller."""

    def __init__(self, packages: tuple[str, ...], confined: bool) -> None:
        """Start the zygote and wait until numpy is imported. Raises ZygoteError."""
        self.confined = confined
        self.jobs = 0
        self.cgroup: ZygoteCgroup | None = None
        self.last_job_oom = False
        # bwrap reads the zygote's seccomp program from an inherited file
        with tempfile.TemporaryFile() as zygote_seccomp:
            try:
                self._seccomp = job_filter() if confined else b""
                zygote_seccomp.write(zygote_filter() if confined else b"")
                zygote_seccomp.seek(0)
                fd = zygote_seccomp.fileno() if confined else None
                argv = zygote_command(packages, confined, seccomp_fd=fd)
                parent = configured_parent() if confined else None
                if parent is not None:
                    self.cgroup = ZygoteCgroup(parent)
                    argv = self.cgroup.wrap(argv)
            except SandboxSetupError as exc:
                raise ZygoteError(str(exc)) from exc
            self._stderr = tempfile.TemporaryFile()
            started = time.monotonic()
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=dict(SANDBOX_ENV),
                start_new_session=True,
                close_fds=True,
                pass_fds=(fd,) if fd is not None else (),
                cwd="/",
            )
        try:
            self._receive(started + START_TIMEOUT, 1 << 16)
        except ZygoteError as exc:
            reason = self.stderr_tail() or str(exc)
            self.kill()
            raise ZygoteError(f"the sandbox did not start: {reason}") from exc
        self.start_seconds = time.monotonic() - started

    def stderr_tail(self) -> str:
        """Return the last lines the zygote (or bwrap) wrote on stderr."""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 2000))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def _receive(self, deadline: float, limit: int) -> list[bytes]:
        read, selector = _reader(self.process.stdout.fileno(), deadline)  # type: ignore[union-attr]
        try:
            return wire.read_message(self.process.stdout.fileno(), limit, read)  # type: ignore[union-attr]
        except wire.WireError as exc:
            raise ZygoteError(str(exc)) from exc
        finally:
            selector.close()

    def run(self, header: dict, source: bytes, inputs: bytes) -> list[bytes]:
        """Send one job and return the reply frames [summary, outputs, stdout, stderr].

        Raises ZygoteError (after killing the zygote) when it does not answer in time.
        """
        deadline = time.monotonic() + header["limits"]["wall_seconds"] + REPLY_GRACE
        self.jobs += 1
        self.last_job_oom = False
        try:
            if self.cgroup is not None:
                limits = header["limits"]
                self.cgroup.limit_job(limits["memory_bytes"], limits["tmpfs_bytes"])
            wire.write_message(
                self.process.stdin.fileno(),  # type: ignore[union-attr]
                [json.dumps(header).encode(), source, inputs, self._seccomp],
                os.write,
            )
            reply = self._receive(deadline, MAX_REPLY)
            if self.cgroup is not None:
                self.last_job_oom = self.cgroup.job_ran_out_of_memory()
            return reply
        except (OSError, ZygoteError) as exc:
            self.kill()
            raise ZygoteError(f"the sandbox stopped answering: {exc}") from exc

    def alive(self) -> bool:
        """True while the zygote process runs."""
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the zygote's whole process group (bwrap and everything inside) and reap it."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        self._stderr.close()
        if self.cgroup is not None:
            self.cgroup.remove()


class ZygotePool:
    """Up to ``size`` idle zygotes for one (packages, confined) configuration."""

    def __init__(
        self, packages: tuple[str, ...] = ("numpy",), confined: bool = True, size: int = 2
    ) -> None:
        self.packages = packages
        self.confined = confined
        self.size = size
        self._idle: list[Zygote] = []
        self._lock = threading.Lock()

    def acquire(self) -> Zygote:
        """Return an idle zygote, starting one (a cold start) if none is idle.

        Raises ZygoteError when a new zygote cannot start.
        """
        with self._lock:
            while self._idle:
                zygote = self._idle.pop()
                if zygote.alive():
                    return zygote
                zygote.kill()
        return Zygote(self.packages, self.confined)

    def release(self, zygote: Zygote) -> None:
        """Give a zygote back; it is killed if dead, worn out or the pool is full."""
        with self._lock:
            keep = zygote.alive() and zygote.jobs < MAX_JOBS_PER_ZYGOTE
            if keep and len(self._idle) < self.size:
                self._idle.append(zygote)
                return
        zygote.kill()

    def prewarm(self) -> None:
        """Start zygotes until ``size`` are idle. Raises ZygoteError if one cannot start."""
        while True:
            with self._lock:
                if len(self._idle) >= self.size:
                    return
            self.release(Zygote(self.packages, self.confined))

    def close(self) -> None:
        """Kill every idle zygote."""
        with self._lock:
            idle, self._idle = self._idle, []
        for zygote in idle:
            zygote.kill()
