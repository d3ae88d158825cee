"""``check_sandbox``: which protections are active here, proven by a probe job where it can be.

Required: bubblewrap, the libseccomp-compiled filter, and what a real job observes from inside
(its own pid namespace, uid 65534, keyrings and sockets refused, the file system read-only but
for the job's own capped /tmp and /dev/shm). Required when configured: the cgroup of
GRADER_SANDBOX_CGROUP. Without a cgroup the report carries a warning (rlimits only).
"""

from __future__ import annotations

import json
import time

import numpy as np

from . import cgroup, seccomp_policy
from .bwrap import SandboxSetupError, find_bwrap, masked_dirs
from .results import Limits, Status
from .runner import run_code

NAMESPACES = "user, pid, network, IPC, UTS, mount, cgroup (per zygote); mount, pid, network, IPC "
NAMESPACES += "(per job)"

# What the probe job reports about itself (run under the real filter and mounts).
PROBE = """
import ctypes, json, os, socket
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)

def refused(call):
    try:
        call()
    except OSError:
        return True
    return False

def writable(path):
    try:
        with open(os.path.join(path, '.probe'), 'w') as handle:
            handle.write('x')
        os.remove(os.path.join(path, '.probe'))
        return True
    except OSError:
        return False

def size(path):
    info = os.statvfs(path)
    return info.f_blocks * info.f_frsize

def keyctl():
    if libc.syscall(KEYCTL, 0, 0, 0, 0, 0) == -1 and ctypes.get_errno() == 1:
        raise PermissionError()

def probe():
    report = {
        'pid': os.getpid(), 'uid': os.getuid(),
        'keyctl_refused': refused(keyctl),
        'socket_refused': refused(lambda: socket.socket()),
        'fork_refused': refused(os.fork),
        'read_only': {p: not writable(p) for p in ['/', '/sandbox/site', '/sandbox/lib'] + MASKED},
        'writable': {p: size(p) for p in ('/tmp', '/dev/shm') if writable(p)},
    }
    print(json.dumps(report))
    return {'y': np.ones(1)}
"""


def _probe_job() -> tuple[list[str], list[str], float]:
    """Run the probe in a fresh sandbox; return (failures, report lines, milliseconds)."""
    masked = [str(p) for p in masked_dirs()]
    keyctl = seccomp_policy.syscall_number("keyctl")
    source = PROBE.replace("KEYCTL", str(keyctl)).replace("MASKED", repr(masked))
    limits = Limits()
    started = time.monotonic()
    result = run_code(source, "probe", [{}], limits, unconfined=False, warm=False)
    elapsed = (time.monotonic() - started) * 1000
    if result.status is Status.SANDBOX_UNAVAILABLE:
        return [f"bubblewrap cannot start a sandbox: {result.message}"], [], elapsed
    outputs = result.calls[0].outputs if result.calls else {}
    if result.status is not Status.OK or not np.array_equal(outputs.get("y", ()), [1.0]):
        reason = f"{result.status} {result.message} {result.traceback}".strip()
        return [f"the sandbox started but the probe job failed: {reason}"], [], elapsed
    report = json.loads(result.stdout.strip().splitlines()[-1])
    failures = []
    if report["pid"] != 1 or report["uid"] != 65534:
        failures.append(
            f"the job is not alone as uid 65534 (pid {report['pid']}, uid {report['uid']})"
        )
    for name in ("keyctl", "socket", "fork"):
        if not report[f"{name}_refused"]:
            failures.append(f"the seccomp filter let {name} through")
    writable_ro = [p for p, ok in report["read_only"].items() if not ok]
    if writable_ro:
        failures.append(f"writable where it must be read-only: {', '.join(writable_ro)}")
    caps = {"/tmp": limits.tmpfs_bytes, "/dev/shm": 65536}
    extra = set(report["writable"]) - set(caps)
    too_big = [p for p, n in report["writable"].items() if n > caps.get(p, 0)]
    if extra or too_big:
        failures.append(f"per-job writable paths unbounded: {sorted(extra | set(too_big))}")
    lines = [
        f"read-only: {', '.join(report['read_only'])}",
        "writable, per job, gone when it ends: "
        + ", ".join(f"{p} ({n >> 10} KiB tmpfs)" for p, n in report["writable"].items()),
        "probe job: pid 1 in its own pid namespace, uid 65534; keyctl, socket and fork refused",
    ]
    return failures, lines, elapsed


def check_sandbox() -> tuple[bool, str]:
    """Return (ok, report): the protections active on this host, one per line.

    ``ok`` is False (and the report says why) when a required protection is missing: no
    bubblewrap, no libseccomp filter, a configured cgroup that cannot be used, or a probe job
    that observes less confinement than promised.
    """
    bwrap = find_bwrap()
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed; install the 'bubblewrap' package"
    lines = [f"bubblewrap: {bwrap}", f"namespaces: {NAMESPACES}"]
    failures: list[str] = []
    try:
        lines.append(seccomp_policy.describe())
    except SandboxSetupError as exc:
        return False, f"seccomp: {exc}"
    broken, text = cgroup.describe()
    (failures if broken else lines).append(text)
    if not broken:
        lines.append(cgroup.host_report())
    lines.append(
        "rlimits per job: address space, CPU time, file size, open files, processes, no core"
    )
    if not failures:
        probe_failures, probe_lines, elapsed = _probe_job()
        failures += probe_failures
        lines += probe_lines + [f"a confined test job ran in {elapsed:.0f} ms (cold start)"]
    if failures:
        return False, "\n".join(failures + ["(active so far)"] + lines)
    return True, "\n".join(lines)
