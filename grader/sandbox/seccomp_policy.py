"""The student process's seccomp filter: default-deny, compiled by libseccomp (``pyseccomp``).

The parent compiles the filter once per process (``job_filter``) and sends the BPF program with
every job; the student's process loads it (``child/confine.py``) after dropping its
capabilities and before any student code runs. Everything not in ``ALLOWED_SYSCALLS`` fails with
EPERM; a syscall of another ABI (x32 numbers with bit 0x40000000, i386 through ``int 0x80``)
kills the process (libseccomp's "bad architecture" action).

``ALLOWED_SYSCALLS`` was found by running the real workloads (the exercises' reference code,
numpy's linear algebra, FFT, random numbers, printing, exceptions, the memory-limit path, the
harness saving its results) under ``strace -f`` and keeping what the student process called
after its filter was in place, plus the time, signal and file calls that ordinary Python uses
(sleep, alarms, files in the work directory). Notably absent: process and thread creation,
namespaces, mounts, keyrings, io_uring, bpf, perf events, userfaultfd, ptrace, execve, sockets,
pipes, memfd and SysV IPC (memory that RLIMIT_AS does not count), prctl and seccomp.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

from .bwrap import SandboxSetupError

ALLOWED_SYSCALLS = (
    # memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    # files, in the work directory and the read-only tree
    "read", "write", "pread64", "pwrite64", "readv", "writev", "lseek", "close",
    "open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "chdir", "fchdir",
    "fcntl", "ioctl", "dup", "dup2", "dup3", "ftruncate", "fsync", "fdatasync", "fadvise64",
    "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2",
    "umask", "fchmod", "chmod", "utimensat", "statfs", "fstatfs",
    # time and waiting
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "select", "pselect6", "poll", "ppoll", "sched_yield", "alarm", "setitimer", "getitimer",
    # signals (to itself; it is alone in its pid namespace)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigpending",
    "kill", "tgkill", "tkill",
    # identity and limits (read only; setrlimit can only lower a hard limit)
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getpgrp", "getsid", "uname", "sysinfo", "getrusage", "times", "prlimit64", "getrlimit",
    "sched_getaffinity", "getcpu", "getrandom", "futex", "rseq", "set_robust_list",
    "set_tid_address", "restart_syscall",
    "exit", "exit_group",
)  # fmt: skip

#: Calls the filter refuses that an attack would reach for first; each is tested.
REFUSED_SYSCALLS = (
    "add_key", "keyctl", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd",
    "fork", "vfork", "clone", "clone3", "execve", "execveat",
    "ptrace", "process_vm_readv", "process_vm_writev",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "memfd_create", "pipe", "pipe2", "socket", "socketpair", "shmget", "msgget", "semget",
    "prctl", "seccomp", "personality", "mknod", "mknodat",
    "open_by_handle_at", "name_to_handle_at", "kexec_load", "init_module", "finit_module",
)  # fmt: skip


#: What the zygote and each job's monitor never need (bwrap loads this filter, ``--seccomp``,
#: before it starts the zygote): a second layer under the student's own filter, and the only
#: one for the code that reads the student's result files.
ZYGOTE_REFUSED = (
    "add_key", "keyctl", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd",
    "ptrace", "process_vm_readv", "process_vm_writev",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init", "personality",
)  # fmt: skip


def _pyseccomp():
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as exc:  # RuntimeError: libseccomp not found
        raise SandboxSetupError(
            f"libseccomp cannot be loaded ({exc}); install the 'libseccomp2' package"
        ) from exc
    return pyseccomp


def syscall_number(name: str) -> int | None:
    """Return ``name``'s number on this machine, or None where the syscall does not exist."""
    seccomp = _pyseccomp()
    number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    return number if number >= 0 else None


@functools.cache
def job_filter() -> bytes:
    """Return the compiled BPF program of the student process's filter (cached).

    Raises SandboxSetupError when libseccomp is missing or refuses the filter.
    """
    return _compile(default_allow=False, names=ALLOWED_SYSCALLS)


@functools.cache
def zygote_filter() -> bytes:
    """Return the compiled BPF program that bwrap loads for the zygote (cached): everything
    but ZYGOTE_REFUSED is allowed (the zygote builds namespaces and mounts for each job).

    Raises SandboxSetupError when libseccomp is missing or refuses the filter.
    """
    return _compile(default_allow=True, names=ZYGOTE_REFUSED)


def _compile(default_allow: bool, names: tuple[str, ...]) -> bytes:
    """Compile a filter: ``names`` allowed on an EPERM default, or refused (EPERM) on an
    allow default; calls of another ABI kill the process."""
    seccomp = _pyseccomp()
    try:
        deny = seccomp.ERRNO(errno.EPERM)
        program = seccomp.SyscallFilter(seccomp.ALLOW if default_allow else deny)
        program.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
        for name in names:
            if syscall_number(name) is not None:
                program.add_rule(deny if default_allow else seccomp.ALLOW, name)
        with tempfile.TemporaryFile() as handle:
            program.export_bpf(handle)
            handle.seek(0)
            bpf = handle.read()
    except OSError as exc:
        raise SandboxSetupError(f"libseccomp could not build the filter: {exc}") from exc
    if not bpf or len(bpf) % 8:
        raise SandboxSetupError("libseccomp exported an empty or malformed filter")
    return bpf


def describe() -> str:
    """Return a one-line description of the filter for ``grader sandbox check``."""
    bpf = job_filter()
    allowed = sum(syscall_number(n) is not None for n in ALLOWED_SYSCALLS)
    refused = sum(syscall_number(n) is not None for n in ZYGOTE_REFUSED)
    return (
        f"seccomp: libseccomp-compiled, default deny (EPERM), {allowed} syscalls allowed, "
        f"other ABIs (x32, i386) kill the process; {len(bpf) // 8} BPF instructions "
        f"({os.uname().machine}); zygote and monitors (bwrap --seccomp): {refused} syscalls "
        f"refused ({len(zygote_filter()) // 8} BPF instructions)"
    )
