"""Running untrusted student Python: bubblewrap + per-job namespaces + rlimits + a harness.

Public API::

    run_code(source, entry, calls, limits=None, *, expected=None, packages=("numpy",),
             unconfined=None, warm=True) -> RunResult
    check_sandbox() -> tuple[bool, str]          # `grader sandbox check` (report per line)
    Limits, RunResult, CallResult, Status        # results.py
    get_pool(packages, confined) -> ZygotePool   # prewarm() at worker start, close() at exit

``calls`` is one dict of keyword arguments per call (arrays, or floats passed as Python
floats). ``expected`` optionally gives, per call, the output names and shapes; each output is
accepted only as a plain float ``np.ndarray`` of that shape with finite values, otherwise it
lands in ``CallResult.problems``. The status is one of ok, exception, timeout, memory_limit,
output_limit, sandbox_unavailable, crashed; it is never an exception escaping.

Isolation design (see also child/zygote.py and child/confine.py):

* A *zygote* (Python with numpy imported) runs under bubblewrap: new user, pid, network, IPC,
  UTS and mount namespaces, uid 65534, empty environment, read-only binds of the shared
  libraries, the interpreter and its standard library (site-packages masked), the allowed
  packages alone under /sandbox/site (never the repository, so ``grader`` is not importable)
  and the child code under /sandbox/lib. It keeps CAP_SYS_ADMIN/CAP_SETPCAP of its own user
  namespace only, under a seccomp filter that bwrap loads (keyrings, io_uring, bpf, perf
  events, userfaultfd, ptrace refused).
* Per job it forks a *monitor* that enters fresh mount, pid, network and IPC namespaces and
  mounts a fresh size-limited tmpfs as /tmp (home and work directory), a 64 KiB /dev/shm and an
  empty /proc; then forks the *student process*, the init of the new pid namespace, which drops
  every capability (bounding set included; no_new_privs), loads the default-deny seccomp filter
  that the parent compiled with libseccomp (seccomp_policy.py: an allow-list of about 100
  system calls; no process or thread creation, execve, keyrings, io_uring, bpf, perf events,
  userfaultfd, memfd, pipes, sockets or IPC; x32 and i386 calls kill it), sets rlimits (CPU,
  address space, file size, processes, open files) and runs the harness. The student cannot
  see, signal or ptrace the zygote or the monitor (other pid namespace), cannot write anything
  a later job reads (its /tmp and /dev/shm die with the job; everything else, the tmpfs that
  masks site-packages included, is read-only), and cannot talk to another job. When the
  student process exits or is killed (wall clock, output cap), the kernel kills everything
  left in its pid namespace.
* Trade-off: jobs share one zygote's memory image (copy-on-write) and its kernel-level
  namespaces above the per-job ones; a kernel bug reachable from a cap-less process through
  the allowed system calls could cross jobs, which a fresh bwrap per job (``warm=False``, ~10x
  slower) would also not stop. Memory is bounded per process by RLIMIT_AS, and by a cgroup v2
  per zygote where the host delegates one (cgroup.py, GRADER_SANDBOX_CGROUP). The sandbox's uid
  maps to the service's uid; when the service runs as root the kernel skips RLIMIT_NPROC,
  which the seccomp filter makes moot (no process creation at all). libseccomp supplies the
  filter for the machine's own architecture; without libseccomp no job runs
  (``sandbox_unavailable``).
* Results travel back as files the monitor reads (O_NOFOLLOW, O_NONBLOCK, regular files only,
  size-capped) after the student's pid namespace is dead; the monitor keeps only the summary's
  flat, typed fields; the parent reads only the expected members of the archive, with every
  declared and decompressed size checked before allocation and ``allow_pickle=False``, and
  re-checks every array. A malformed result is the student's error, never the sandbox's.
* GRADER_SANDBOX_UNCONFINED=1 (or ``unconfined=True``) runs the same zygote without bubblewrap
  or namespaces: rlimits and a process-group kill only. It is logged as a warning on every run
  and ``RunResult.confined`` is False with the warning in ``message``.
"""

from .bwrap import SandboxSetupError
from .health import check_sandbox
from .pool import ZygoteError, ZygotePool
from .results import CallResult, Limits, RunResult, Status
from .runner import UNCONFINED_ENV, get_pool, run_code, shutdown_pools

__all__ = [
    "UNCONFINED_ENV",
    "CallResult",
    "Limits",
    "RunResult",
    "SandboxSetupError",
    "Status",
    "ZygoteError",
    "ZygotePool",
    "check_sandbox",
    "get_pool",
    "run_code",
    "shutdown_pools",
]
