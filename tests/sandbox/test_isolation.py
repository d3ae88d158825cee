"""Attacks on what one job leaves for the next and on the kernel interfaces a job can reach.

Every path a job can write must be its own (size-capped, gone with the job); everything else is
read-only. The student's process runs under a default-deny seccomp filter compiled by
libseccomp: kernel keyrings, io_uring, bpf, perf events, userfaultfd, process creation and the
x32 syscall range are refused.
"""

from __future__ import annotations

import os
import platform

import numpy as np
import pytest

from grader.sandbox import Limits, Status
from grader.sandbox.seccomp_policy import REFUSED_SYSCALLS, syscall_number

from .conftest import BWRAP_MISSING, FAST, SKIP_REASON
from .test_attacks import assert_pool_healthy, probe

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]

# Walks the whole file system the job sees and tries to create a file in every directory.
WRITABLE_WALK = """
found = []
for root, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys')]
    probe_path = os.path.join(root, '.probe-written-by-a-job')
    try:
        with open(probe_path, 'w') as handle:
            handle.write('job A was here')
        found.append(root)
    except OSError:
        pass
print('WRITABLE:' + ','.join(sorted(found)))
"""


def writable_dirs(stdout: str) -> set[str]:
    line = next(x for x in stdout.splitlines() if x.startswith("WRITABLE:"))
    return {d for d in line.removeprefix("WRITABLE:").split(",") if d}


def test_deny_writing_anywhere_but_the_per_job_directories(attack):
    result = attack(probe(WRITABLE_WALK))
    assert result.status is Status.OK, (result.message, result.traceback)
    assert writable_dirs(result.stdout) <= {"/tmp", "/dev/shm"}


def test_deny_leaving_files_for_the_next_job_anywhere(attack):
    plant = probe(WRITABLE_WALK)
    attack(plant)
    look = """
left = []
for root, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys')]
    if '.probe-written-by-a-job' in files:
        left.append(root)
print('LEFT:' + ','.join(left))
"""
    result = attack(probe(look))
    assert result.status is Status.OK
    assert "LEFT:\n" in result.stdout + "\n", result.stdout


def _shmem_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("Shmem:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no Shmem line in /proc/meminfo")


def test_deny_holding_host_memory_in_a_tmpfs_after_the_job(attack):
    # 8 files of 7 MiB in every directory the job can write: only the per-job tmpfs (16 MiB)
    # takes any, and it is gone when the job ends.
    fill = """
total = 0
for root, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys')]
    for i in range(8):
        try:
            with open(os.path.join(root, f'.fill{i}'), 'wb') as handle:
                handle.write(b'x' * (7 << 20))
            total += 7 << 20
        except OSError:
            break
for root in ('/tmp', '/dev/shm'):  # leave room for the results
    for name in os.listdir(root):
        if name.startswith('.fill'):
            os.remove(os.path.join(root, name))
            total -= 7 << 20
print('FILLED:', total)
"""
    before = _shmem_bytes()
    result = attack(probe(fill), limits=Limits(wall_seconds=10.0, cpu_seconds=8.0))
    after = _shmem_bytes()
    assert result.status is Status.OK, (result.message, result.traceback)
    # nothing beyond the per-job directories (emptied again above) took any data
    assert int(result.stdout.split("FILLED:")[1].split()[0]) <= 0
    # other processes on the machine move Shmem too; what a job leaves would be 56 MiB or more
    assert after - before < 24 << 20, (before, after)


def syscall_probe(names: list[str]) -> str:
    """Call each syscall with zero arguments through ctypes; print label:NO when refused."""
    body = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    body += "def raw(nr):\n"
    body += "    rc = libc.syscall(nr, 0, 0, 0, 0, 0, 0)\n"
    body += "    if rc == -1 and ctypes.get_errno() == 1:\n"
    body += "        raise PermissionError('refused')\n"
    body += "    return (rc, ctypes.get_errno())\n"
    for name in names:
        body += f"try_({name!r}, lambda: raw({syscall_number(name)}))\n"
    return probe(body)


def test_deny_every_refused_syscall(attack):
    names = [n for n in REFUSED_SYSCALLS if syscall_number(n) is not None]
    assert {"add_key", "keyctl", "request_key", "bpf", "userfaultfd", "clone3"} <= set(names)
    result = attack(syscall_probe(names))
    assert result.status is Status.OK, (result.message, result.traceback)
    for name in names:
        assert f"{name}:NO:PermissionError" in result.stdout, (name, result.stdout)


def test_deny_a_kernel_key_left_by_one_job_to_the_next(attack):
    # glibc has no wrappers for the keyring calls: the attack uses their numbers
    add_key, request_key, keyctl = (syscall_number(n) for n in ("add_key", "request_key", "keyctl"))
    plant = probe(
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def add():\n"
        f"    rc = libc.syscall({add_key}, b'user', b'left-by-a', b'hunter2', 7, -4)\n"
        "    if rc == -1:\n"
        "        raise OSError(ctypes.get_errno(), 'add_key')\n"
        "    return rc\n"
        "try_('add_key', add)\n"
    )
    planted = attack(plant)
    look = probe(
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def read():\n"
        f"    key = libc.syscall({request_key}, b'user', b'left-by-a', None, 0)\n"
        "    if key == -1:\n"
        "        raise OSError(ctypes.get_errno(), 'request_key')\n"
        "    buf = ctypes.create_string_buffer(64)\n"
        f"    n = libc.syscall({keyctl}, 11, key, buf, 64)\n"  # KEYCTL_READ
        "    return buf.raw[:n]\n"
        "try_('read_key', read)\n"
    )
    result = attack(look)
    assert "add_key:NO:" in planted.stdout, planted.stdout
    assert "read_key:NO:" in result.stdout and "hunter2" not in result.stdout


def test_deny_x32_syscalls(attack):
    # getpid (39) through the x32 ABI: refused, the process killed before it returns
    source = (
        "import ctypes\n"
        "def attack():\n"
        "    print('before', flush=True)\n"
        "    rc = ctypes.CDLL(None, use_errno=True).syscall(0x40000000 | 39)\n"
        "    print('AFTER', rc, ctypes.get_errno(), flush=True)\n"
        "    return {}\n"
    )
    if platform.machine() != "x86_64":
        pytest.skip("the x32 ABI exists on x86_64 only")
    result = attack(source)
    assert "before" in result.stdout and "AFTER" not in result.stdout
    assert result.status is Status.CRASHED and "SIGSYS" in result.message
    assert_pool_healthy()


def test_deny_memory_outside_the_address_space_limit(attack):
    # memfd, pipes and SysV shared memory hold pages that RLIMIT_AS does not count
    body = """
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
try_('memfd', lambda: os.memfd_create('x'))
try_('pipe', lambda: os.pipe())
try_('socketpair', lambda: socket.socketpair())
def shm():
    rc = libc.shmget(0, 64 << 20, 0o1600)
    if rc == -1:
        raise OSError(ctypes.get_errno(), 'shmget')
    return rc
try_('shmget', shm)
"""
    result = attack(probe(body))
    assert result.status is Status.OK
    for label in ("memfd", "pipe", "socketpair", "shmget"):
        assert f"{label}:NO:" in result.stdout, result.stdout


def test_allow_the_workload_under_the_filter(attack):
    source = (
        "import numpy as np, time, random\n"
        "def attack(x):\n"
        "    a = np.random.default_rng(0).normal(size=(40, 40))\n"
        "    np.linalg.svd(a); np.linalg.solve(a, a[0]); np.fft.fft(a[0]); np.sort(a)\n"
        "    time.sleep(0.01); random.random(); time.perf_counter()\n"
        "    open('scratch.txt', 'w').write('ok')\n"
        "    print(np.array2string(a[:1, :3]))\n"
        "    return {'y': x * 2}\n"
    )
    result = attack(source, [{"x": np.arange(3.0)}], limits=FAST)
    assert result.status is Status.OK, (result.message, result.traceback)
    assert result.calls[0].outputs["y"].tolist() == [0.0, 2.0, 4.0]


def test_deny_i386_syscalls_through_int_0x80(attack):
    # getpid (20) through the i386 ABI from executable memory: the filter kills the process
    if platform.machine() != "x86_64":
        pytest.skip("int 0x80 is an x86 instruction")
    source = (
        "import ctypes, mmap\n"
        "def attack():\n"
        "    code = b'\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3'\n"  # mov eax,20; int 0x80; ret
        "    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "    page.write(code)\n"
        "    address = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
        "    print('before', flush=True)\n"
        "    print('AFTER', ctypes.CFUNCTYPE(ctypes.c_int)(address)(), flush=True)\n"
        "    return {}\n"
    )
    result = attack(source)
    assert "before" in result.stdout and "AFTER" not in result.stdout
    assert result.status is Status.CRASHED and "SIGSYS" in result.message
    assert_pool_healthy()


def test_deny_posix_message_queues_and_sysv_ipc(attack):
    names = ["mq_open", "msgget", "semget", "shmget"]
    result = attack(syscall_probe(names))
    for name in names:
        assert f"{name}:NO:PermissionError" in result.stdout, result.stdout


def _seccomp_filters(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("Seccomp_filters:"):
                return int(line.split()[1])
    return 0


def test_the_zygote_itself_runs_under_a_filter():
    """The zygote and the monitors, which read what a job leaves, have a filter of their own
    (bwrap --seccomp): no keyrings, bpf, perf events, userfaultfd, io_uring or ptrace."""
    from grader.sandbox.pool import Zygote

    from .conftest import descendants

    zygote = Zygote(("numpy",), confined=True)
    try:
        pythons = []
        for pid in descendants(zygote.process.pid):
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            if b"bwrap" not in argv[0] and any(a.endswith(b"zygote.py") for a in argv):
                pythons.append(pid)
        assert len(pythons) == 1
        assert _seccomp_filters(pythons[0]) > _seccomp_filters(os.getpid())
    finally:
        zygote.kill()
