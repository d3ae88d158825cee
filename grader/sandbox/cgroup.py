"""Memory and process limits by cgroup v2, where the host delegates a sub-tree to the service.

RLIMIT_AS bounds a process's address space, not the memory it holds: pages of a memfd, a pipe or
a tmpfs outlive their mappings (the seccomp filter refuses memfd, pipes and SysV shared memory;
the job's tmpfs is capped). A cgroup bounds everything the zygote's processes charge, so
where one is delegated each zygote runs in a cgroup of its own below ``GRADER_SANDBOX_CGROUP``
(a cgroup v2 directory the service may write, with no process in it, the ``memory`` and
``pids`` controllers available): before each job the parent sets ``memory.max`` to what the
zygote holds plus the job's limits, ``memory.swap.max`` to 0 and ``pids.max``; after it, an
``oom_kill`` in ``memory.events`` makes the run ``memory_limit``.

Without the setting the sandbox relies on rlimits alone and ``grader sandbox check`` warns.
A setting that names a directory the sandbox cannot use is an error (no job runs), never a
silent fallback. See docs/deployment.md, "Limits by cgroup v2".
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from .bwrap import SandboxSetupError

CGROUP_ENV = "GRADER_SANDBOX_CGROUP"
REQUIRED_CONTROLLERS = ("memory", "pids")
# what a job may charge beyond its address-space limit and tmpfs: the monitor's copy-on-write
# pages, page tables, the result files being read
SLACK_BYTES = 32 << 20
# bwrap, bwrap's init, the zygote, the monitor, the student process
ZYGOTE_PROCESSES = 5
_names = itertools.count()


def configured_parent() -> Path | None:
    """Return the delegated cgroup directory named by GRADER_SANDBOX_CGROUP, or None."""
    value = os.environ.get(CGROUP_ENV, "").strip()
    return Path(value) if value else None


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def prepare_parent(parent: Path) -> None:
    """Check that ``parent`` is a usable delegated cgroup v2 directory and enable the
    controllers for its children. Raises SandboxSetupError saying what is wrong."""
    controllers_file = parent / "cgroup.controllers"
    if not controllers_file.is_file():
        raise SandboxSetupError(f"{CGROUP_ENV}={parent} is not a cgroup v2 directory")
    available = set(_read(controllers_file).split())
    missing = [c for c in REQUIRED_CONTROLLERS if c not in available]
    if missing:
        raise SandboxSetupError(
            f"{CGROUP_ENV}={parent}: controller(s) {', '.join(missing)} not delegated "
            f"(available: {' '.join(sorted(available)) or 'none'})"
        )
    try:
        enabled = set(_read(parent / "cgroup.subtree_control").split())
        wanted = [c for c in REQUIRED_CONTROLLERS if c not in enabled]
        if wanted:
            (parent / "cgroup.subtree_control").write_text(
                " ".join(f"+{c}" for c in wanted), encoding="ascii"
            )
    except OSError as exc:
        raise SandboxSetupError(
            f"{CGROUP_ENV}={parent}: cannot enable {', '.join(REQUIRED_CONTROLLERS)} for its "
            f"children ({exc.strerror}); it must be writable and hold no process itself"
        ) from exc


class ZygoteCgroup:
    """The cgroup of one zygote: created empty, joined by the zygote's first process."""

    def __init__(self, parent: Path) -> None:
        """Create the cgroup. Raises SandboxSetupError."""
        prepare_parent(parent)
        self.path = parent / f"zygote-{os.getpid()}-{next(_names)}"
        try:
            self.path.mkdir()
            (self.path / "memory.swap.max").write_text("0", encoding="ascii")
            (self.path / "pids.max").write_text(str(ZYGOTE_PROCESSES + 4), encoding="ascii")
        except OSError as exc:
            self.remove()
            raise SandboxSetupError(f"cannot create the cgroup {self.path}: {exc}") from exc
        self._oom_kills = 0

    def wrap(self, argv: list[str]) -> list[str]:
        """Return ``argv`` started through a shell that first joins this cgroup, so bwrap and
        everything it starts are inside from their first instruction."""
        procs = str(self.path / "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *argv]

    def limit_job(self, memory_bytes: int, tmpfs_bytes: int) -> None:
        """Set ``memory.max`` for the next job: what the zygote holds now plus the job's own
        limits and a slack. Raises OSError."""
        current = int(_read(self.path / "memory.current"))
        ceiling = current + memory_bytes + tmpfs_bytes + SLACK_BYTES
        (self.path / "memory.max").write_text(str(ceiling), encoding="ascii")
        self._oom_kills = self.oom_kills()

    def oom_kills(self) -> int:
        """Return how many processes the kernel killed for this cgroup's memory limit."""
        for line in _read(self.path / "memory.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def job_ran_out_of_memory(self) -> bool:
        """True when the kernel OOM-killed a process here since ``limit_job``."""
        return self.oom_kills() > self._oom_kills

    def remove(self) -> None:
        """Remove the cgroup (its processes must be gone); a failure is left to the host."""
        try:
            self.path.rmdir()
        except OSError:
            pass


def describe() -> tuple[bool, str]:
    """Return (required_and_broken, text) for ``grader sandbox check``.

    ``(False, warning)`` when no cgroup is configured (rlimits only), ``(True, reason)`` when
    the configured one cannot be used.
    """
    parent = configured_parent()
    if parent is None:
        return False, (
            f"WARNING cgroup: {CGROUP_ENV} is not set; memory and processes are bounded by "
            "rlimits only (RLIMIT_AS, RLIMIT_NPROC) and the seccomp filter. "
            f"Delegate a cgroup v2 sub-tree and set {CGROUP_ENV} (docs/deployment.md)"
        )
    try:
        prepare_parent(parent)
    except SandboxSetupError as exc:
        return True, f"cgroup: {exc}"
    return False, (
        f"cgroup: v2 at {parent}, controllers {' '.join(REQUIRED_CONTROLLERS)}: per-zygote "
        "memory.max (zygote + job limit), memory.swap.max 0, pids.max"
    )


def host_report() -> str:
    """Return what this host offers: the cgroup version mounted and this process's cgroup."""
    try:
        own = Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines()
    except OSError:
        own = []
    unified = next((line[3:] for line in own if line.startswith("0::")), None)
    v1 = [line for line in own if not line.startswith("0::")]
    if unified is not None and not v1:
        return f"this host: cgroup v2 only, this process in {unified}"
    if unified is not None:
        return "this host: hybrid cgroup v1/v2 (controllers on v1; v2 cannot limit memory)"
    return "this host: cgroup v1 only"
