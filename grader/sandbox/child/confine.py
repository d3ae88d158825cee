"""Per-job confinement inside the zygote's sandbox (standard library only, via ctypes).

The zygote runs under bubblewrap with CAP_SYS_ADMIN and CAP_SETPCAP *inside its own user
namespace* (never on the host). For each job the monitor process calls ``isolate_job`` (new
mount, pid, network and IPC namespaces; fresh tmpfs work directory, an empty /proc and
/dev/shm), and the student's process calls ``drop_privileges`` before any student code runs:
it empties the bounding, ambient, inheritable, permitted and effective capability sets, so the
student can neither undo a mount nor regain a capability by executing a program, and loads the
default-deny seccomp filter that the parent compiled with libseccomp
(grader/sandbox/seccomp_policy.py).
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
_BPF_INSTRUCTION = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter(program: bytes) -> None:
    """Load ``program``, a seccomp BPF program compiled by the parent with libseccomp.

    Requires no_new_privs (set by ``drop_privileges``). The filter stays for the life of the
    process and everything it could start. Raises ConfinementError for an empty or malformed
    program or when the kernel refuses it.
    """
    if not program or len(program) % _BPF_INSTRUCTION or len(program) > 4096 * _BPF_INSTRUCTION:
        raise ConfinementError(0, "no valid seccomp filter was supplied")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // _BPF_INSTRUCTION, ctypes.cast(buffer, ctypes.c_void_p))
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def drop_privileges(seccomp_program: bytes) -> None:
    """Drop every capability for good, forbid gaining privileges, load the seccomp filter.

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
    install_filter(seccomp_program)
