"""Per-job confinement inside the zygote's sandbox (standard library only, via ctypes).

The zygote runs under bubblewrap with CAP_SYS_ADMIN and CAP_SETPCAP *inside its own user
namespace* (never on the host). For each job the monitor process calls ``isolate_job`` (new
mount, pid, network and IPC namespaces; fresh tmpfs work directory, an empty /proc and
/dev/shm), and the student's process calls ``drop_privileges`` before any student code runs:
it empties the bounding, ambient, inheritable, permitted and effective capability sets, so the
student can neither undo a mount nor regain a capability by executing a program.
"""

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 1 << 14
MS_PRIVATE = 1 << 18

PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_LAST_CAP_GUESS = 63
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementError(OSError):
    """A namespace, mount or capability call failed."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise ConfinementError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def isolate_job(work_dir: str, tmpfs_bytes: int, max_files: int) -> None:
    """Move the calling process into new namespaces and mount a fresh work directory.

    Children forked afterwards start in a new pid namespace (the first one is its init).
    Raises ConfinementError if the kernel refuses.
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    fs_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    size = f"size={tmpfs_bytes},nr_inodes={max_files},mode=0700"
    _mount("tmpfs", work_dir, "tmpfs", fs_flags, size)
    _mount("tmpfs", "/dev/shm", "tmpfs", fs_flags, "size=65536,nr_inodes=16,mode=0700")
    # The zygote's /proc shows its pid namespace; the job sees an empty read-only one.
    _mount("tmpfs", "/proc", "tmpfs", fs_flags | MS_RDONLY, "size=4096,nr_inodes=4,mode=0555")


PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_EPERM = 0x00050000 | 1
# audit arch and the process-creating syscalls (fork, vfork, clone, clone3) per machine
_PROCESS_SYSCALLS = {
    "x86_64": (0xC000003E, (56, 57, 58, 435)),
    "aarch64": (0xC00000B7, (220, 435)),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def forbid_new_processes() -> None:
    """Install a seccomp filter: fork, vfork, clone and clone3 fail with EPERM.

    The sandbox's uid maps to the service's uid; when that is root, the kernel does not
    enforce RLIMIT_NPROC, so process creation is refused outright (numpy code needs neither
    processes nor threads). Raises ConfinementError on an unknown architecture.
    """
    machine = os.uname().machine
    if machine not in _PROCESS_SYSCALLS:
        raise ConfinementError(0, f"no seccomp filter for architecture {machine}")
    arch, numbers = _PROCESS_SYSCALLS[machine]
    ld_abs, jeq, ret = 0x20, 0x15, 0x06
    n = len(numbers)
    program = [
        (ld_abs, 0, 0, 4),
        (jeq, 1, 0, arch),
        (ret, 0, 0, _SECCOMP_RET_KILL_PROCESS),
        (ld_abs, 0, 0, 0),
    ]
    program += [(jeq, n - i, 0, nr) for i, nr in enumerate(numbers)]
    program += [(ret, 0, 0, _SECCOMP_RET_ALLOW), (ret, 0, 0, _SECCOMP_RET_EPERM)]
    filters = (_SockFilter * len(program))(*[_SockFilter(*op) for op in program])
    fprog = _SockFprog(len(program), filters)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def drop_privileges() -> None:
    """Drop every capability for good, forbid gaining privileges and creating processes.

    Raises ConfinementError.
    """
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(CAP_LAST_CAP_GUESS + 1):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            _check(-1, f"drop bounding capability {cap}")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
    forbid_new_processes()
