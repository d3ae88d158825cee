"""The attack suite: each test runs hostile student code and asserts the SAFE outcome.

Attacks report what they managed on stdout (the only channel that always comes back); the
tests assert that nothing secret or forbidden shows up there, and that the grader process, the
warm pool and the host are untouched afterwards (``no_leftovers`` checks processes and temp
directories after every test).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

import grader
from grader.sandbox import Limits, Status, get_pool, run_code

from .conftest import BWRAP_MISSING, FAST, SKIP_REASON

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]
REPO_FILE = Path(grader.__file__).resolve()


def probe(body: str) -> str:
    """Wrap statements into ``attack()``; each ``try_(label, fn)`` prints label:OK or label:NO."""
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return (
        "import os, sys, socket, numpy as np\n"
        "def try_(label, fn):\n"
        "    try:\n"
        "        value = fn()\n"
        "        print(label + ':OK:' + repr(value)[:300])\n"
        "    except BaseException as exc:\n"
        "        print(label + ':NO:' + type(exc).__name__)\n"
        "def attack(**kw):\n" + lines + "\n    return {}\n"
    )


def assert_denied(result, *labels: str) -> None:
    assert result.status is Status.OK, (result.status, result.message, result.traceback)
    for label in labels:
        assert f"{label}:NO:" in result.stdout, result.stdout
        assert f"{label}:OK:" not in result.stdout


def assert_pool_healthy() -> None:
    result = run_code(
        "def attack():\n    return {'v': __import__('numpy').ones(2)}\n", "attack", [{}], FAST
    )
    assert result.status is Status.OK and result.calls[0].outputs["v"].tolist() == [1.0, 1.0]


# --- time, processes ------------------------------------------------------------------------


def test_deny_infinite_loop(attack):
    started = time.monotonic()
    result = attack("def attack():\n    while True:\n        pass\n")
    assert result.status is Status.TIMEOUT
    assert time.monotonic() - started < FAST.wall_seconds + 2


def test_deny_loop_ignoring_sigterm_and_sigxcpu(attack):
    source = (
        "import signal\n"
        "def attack():\n"
        "    for s in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGHUP):\n"
        "        signal.signal(s, signal.SIG_IGN)\n"
        "    while True:\n"
        "        pass\n"
    )
    result = attack(source, limits=Limits(wall_seconds=5.0, cpu_seconds=1.0))
    assert result.status is Status.TIMEOUT


def test_deny_sleeping_past_the_wall_clock(attack):
    started = time.monotonic()
    result = attack("import time\ndef attack():\n    time.sleep(60)\n")
    assert result.status is Status.TIMEOUT
    assert time.monotonic() - started < FAST.wall_seconds + 2


def test_deny_fork_bomb(attack):
    source = (
        "import os\n"
        "def attack():\n"
        "    while True:\n"
        "        try:\n"
        "            os.fork()\n"
        "        except OSError:\n"
        "            pass\n"
    )
    result = attack(source)
    assert result.status is Status.TIMEOUT
    assert_pool_healthy()


def test_deny_detached_grandchild_outliving_the_run(attack):
    body = """
import time
def spawn():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(0.01)
        os._exit(0)
    return 'forked'
try_('fork', spawn)
try_('thread', lambda: __import__('threading').Thread(target=time.sleep, args=(60,)).start())
"""
    result = attack(probe(body))
    assert_denied(result, "fork", "thread")
    # no_leftovers asserts that no process of the job is left on the host


def test_deny_kill_parent_and_everyone(attack):
    body = f"""
try_('kill_host_parent', lambda: os.kill({os.getpid()}, 9))
try_('kill_init', lambda: os.kill(1, 0) or 'self')
try_('ppid', lambda: os.getppid() if os.getppid() > 1 else (_ for _ in ()).throw(OSError()))
try_('kill_all', lambda: os.kill(-1, 9))
"""
    result = attack(probe(body))
    assert_denied(result, "kill_host_parent", "ppid")
    zygotes = [z.process.pid for z in get_pool()._idle]
    assert_pool_healthy()
    assert [z.process.pid for z in get_pool()._idle] == zygotes


# --- memory, output, disk -------------------------------------------------------------------


def test_deny_python_memory_bomb(attack):
    result = attack("def attack():\n    return {'x': bytearray(8 << 30)}\n")
    assert result.status is Status.MEMORY_LIMIT


def test_deny_numpy_memory_bomb(attack):
    result = attack(
        "import numpy as np\ndef attack():\n    return {'x': np.ones((40000, 40000))}\n"
    )
    assert result.status is Status.MEMORY_LIMIT


def test_deny_gradual_memory_growth(attack):
    source = (
        "def attack():\n    hoard = []\n    while True:\n        hoard.append(b'x' * (1 << 20))\n"
    )
    result = attack(source)
    assert result.status is Status.MEMORY_LIMIT


def test_deny_endless_output(attack):
    result = attack("def attack():\n    while True:\n        print('spam' * 100)\n")
    assert result.status is Status.OUTPUT_LIMIT
    assert len(result.stdout) <= FAST.output_bytes


def test_deny_endless_stderr_output(attack):
    source = "import sys\ndef attack():\n    while True:\n        sys.stderr.write('x' * 4096)\n"
    result = attack(source)
    assert result.status is Status.OUTPUT_LIMIT
    assert len(result.stderr) <= FAST.output_bytes


def test_deny_filling_the_disk(attack):
    body = """
written = 0
try:
    for i in range(10000):
        with open(f'/tmp/fill{i}', 'wb') as f:
            for _ in range(64):
                f.write(b'x' * (1 << 20))
                written += 1 << 20
except OSError as exc:
    print('stopped', type(exc).__name__)
print('written', written)
"""
    result = attack(probe(body))
    assert result.status is Status.OK
    written = int(result.stdout.split("written ")[1].split()[0])
    assert written <= FAST.tmpfs_bytes
    assert "stopped" in result.stdout


# --- reading secrets ------------------------------------------------------------------------


def test_deny_reading_etc_passwd(attack):
    result = attack(probe("try_('passwd', lambda: open('/etc/passwd').read())"))
    assert_denied(result, "passwd")
    assert "root:" not in result.stdout


def test_deny_reading_parent_environ(attack, monkeypatch):
    monkeypatch.setenv("GRADER_TEST_SECRET", "hunter2-environ")
    body = f"""
try_('parent', lambda: open('/proc/{os.getpid()}/environ').read())
try_('init', lambda: open('/proc/1/environ').read())
try_('self', lambda: open('/proc/self/environ').read())
print(dict(os.environ))
"""
    result = attack(probe(body), unconfined=False, warm=False)
    assert_denied(result, "parent", "init", "self")
    assert "hunter2-environ" not in result.stdout


def test_deny_reading_service_environment(attack, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "hunter2-secret-key")
    monkeypatch.setenv("DATABASE_URL", "postgresql://grader:hunter2@db/grader")
    result = attack(probe("print(sorted(os.environ.items()))"), warm=False)
    assert "hunter2" not in result.stdout
    assert "OPENBLAS_NUM_THREADS" in result.stdout


def test_deny_reading_the_database_file(attack, tmp_path):
    database = tmp_path / "instance" / "grader.sqlite"
    database.parent.mkdir()
    database.write_text("SQLite format 3 hunter2-database")
    result = attack(probe(f"try_('db', lambda: open({str(database)!r}).read())"))
    assert_denied(result, "db")
    assert "hunter2" not in result.stdout


def test_deny_reading_the_repository_source(attack):
    body = f"""
try_('source', lambda: open({str(REPO_FILE)!r}).read())
try_('listing', lambda: os.listdir({str(REPO_FILE.parent.parent)!r}))
try_('root_home', lambda: os.listdir('/root'))
try_('venv', lambda: os.listdir({str(Path(np.__file__).parent.parent)!r}))
"""
    result = attack(probe(body))
    assert_denied(result, "source", "listing", "venv")
    assert "create_app" not in result.stdout


def test_deny_importing_grader_to_find_the_reference(attack):
    body = """
try_('grader', lambda: __import__('grader'))
try_('engine', lambda: __import__('grader.engine'))
try_('sandbox', lambda: __import__('grader.sandbox'))
"""
    result = attack(probe(body))
    assert_denied(result, "grader", "engine", "sandbox")


def test_deny_importing_an_autodiff_library(attack):
    names = ["torch", "jax", "autograd", "sympy", "tensorflow", "IPython", "yaml", "flask"]
    body = "\n".join(f"try_({n!r}, lambda: __import__({n!r}))" for n in names)
    assert_denied(attack(probe(body)), *names)


# --- writing outside the work directory ------------------------------------------------------


def test_deny_writing_outside_the_work_directory(attack, tmp_path):
    target = tmp_path / "planted.txt"
    body = f"""
try_('host_tmp', lambda: open({str(target)!r}, 'w').write('x'))
try_('repo', lambda: open({str(REPO_FILE.parent / "planted.py")!r}, 'w').write('x'))
try_('harness', lambda: open('/sandbox/lib/harness.py', 'a').write('x'))
try_('numpy', lambda: open('/sandbox/site/numpy/__init__.py', 'a').write('x'))
try_('libc', lambda: open('/usr/lib64/planted', 'w').write('x'))
try_('root', lambda: open('/planted', 'w').write('x'))
try_('dev', lambda: open('/dev/planted', 'w').write('x'))
try_('work', lambda: open('/tmp/fine.txt', 'w').write('x'))
"""
    result = attack(probe(body))
    assert_denied(result, "host_tmp", "repo", "harness", "numpy", "libc", "root", "dev")
    assert "work:OK:" in result.stdout
    assert not target.exists() and not (REPO_FILE.parent / "planted.py").exists()


def test_deny_remounting_or_regaining_privileges(attack):
    body = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def check(rc):
    if rc != 0:
        raise OSError(ctypes.get_errno(), 'refused')
    return rc
try_('mount', lambda: check(libc.mount(b'tmpfs', b'/sandbox/lib', b'tmpfs', 0, None)))
try_('userns', lambda: check(libc.unshare(0x10000000)))
try_('setuid', lambda: os.setuid(0))
try_('exec_python', lambda: os.execv(sys.executable, [sys.executable, '-c', 'pass']))
"""
    result = attack(probe(body))
    assert result.status is not Status.OK or "exec_python:NO:" in result.stdout
    for label in ("mount", "userns", "setuid"):
        assert f"{label}:NO:" in result.stdout


def test_deny_state_shared_between_jobs(attack):
    plant = probe(
        "open('/tmp/left.txt', 'w').write('hunter2')\n"
        "try_('shm', lambda: open('/dev/shm/left', 'w').write('hunter2'))"
    )
    attack(plant)
    look = "try_('tmp', lambda: open('/tmp/left.txt').read())\n"
    look += "try_('shm', lambda: open('/dev/shm/left').read())"
    result = attack(probe(look))
    assert_denied(result, "tmp", "shm")


# --- network --------------------------------------------------------------------------------


def connect_probe(host: str, port: int) -> str:
    return probe(
        f"try_('connect', lambda: socket.create_connection(({host!r}, {port}), timeout=1))"
    )


def test_deny_tcp_to_the_web_service_on_loopback(attack):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        result = attack(connect_probe("127.0.0.1", listener.getsockname()[1]))
        with pytest.raises(TimeoutError):
            listener.accept()
    assert_denied(result, "connect")
    assert_denied(attack(connect_probe("127.0.0.1", 5000)), "connect")


@pytest.mark.parametrize("port", [5432, 6379], ids=["postgresql", "redis"])
def test_deny_database_and_broker_on_loopback(attack, port):
    assert_denied(attack(connect_probe("127.0.0.1", port)), "connect")


def test_deny_tcp_to_an_outside_address(attack):
    assert_denied(attack(connect_probe("1.1.1.1", 443)), "connect")


def test_deny_dns(attack):
    result = attack(probe("try_('dns', lambda: socket.getaddrinfo('example.com', 443))"))
    assert_denied(result, "dns")


# --- programs -------------------------------------------------------------------------------


def test_deny_subprocess(attack):
    body = """
import subprocess
try_('sh', lambda: subprocess.run(['/bin/sh', '-c', 'id'], capture_output=True))
try_('cat', lambda: subprocess.run(['cat', '/etc/passwd'], capture_output=True))
try_('system', lambda: os.system('id') == 0 or (_ for _ in ()).throw(OSError()))
"""
    assert_denied(attack(probe(body)), "sh", "cat", "system")


def test_deny_os_exec_escapes_nothing(attack):
    body = f"""
try_('sh', lambda: os.execv('/bin/sh', ['sh', '-c', 'id']))
code = "print(open({str(REPO_FILE)!r}).read())"
os.execv(sys.executable, [sys.executable, '-c', code])
"""
    result = attack(probe(body))
    assert "sh:NO:" in result.stdout
    assert "create_app" not in result.stdout
    # execve is refused by the seccomp filter (before it, the exec'd program ran, cap-less)
    assert result.status is Status.EXCEPTION and "PermissionError" in result.traceback


def test_deny_ctypes_segfault(attack):
    result = attack("import ctypes\ndef attack():\n    ctypes.string_at(0)\n")
    assert result.status is Status.CRASHED
    assert "SIGSEGV" in result.message
    assert_pool_healthy()


# --- lying results --------------------------------------------------------------------------


def test_deny_import_time_monkeypatching_of_numpy(attack):
    source = (
        "import numpy as np\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "np.isfinite = lambda a: np.ones(np.shape(a), bool)\n"
        "np.core = None\n"
        "def attack():\n"
        "    return {'y': np.array([np.nan])}\n"
    )
    result = attack(source)
    assert result.status is Status.OK, result.traceback
    assert result.calls[0].problems == {"y": "contains NaN or infinity"}
    assert not np.allclose(1.0, 2.0) and not np.array_equal([1], [2])
    clean = attack("import numpy as np\ndef attack():\n    return {'same': np.allclose(1, 2)}\n")
    assert clean.calls[0].problems["same"].startswith("not an ndarray (got builtins.bool")


def test_deny_object_with_lying_dunder_methods(attack):
    source = (
        "import numpy as np\n"
        "class Liar:\n"
        "    def __eq__(self, other): return True\n"
        "    def __sub__(self, other): return 0.0\n"
        "    __rsub__ = __sub__\n"
        "    def __array__(self, *a, **k): return np.zeros(3)\n"
        "    def __float__(self): return 0.0\n"
        "def attack():\n"
        "    return {'W1': Liar()}\n"
    )
    result = attack(source)
    assert result.calls[0].outputs == {}
    assert result.calls[0].problems["W1"] == "not an ndarray (got submission.Liar)"


def test_deny_ndarray_subclass(attack):
    source = (
        "import numpy as np\n"
        "class Always(np.ndarray):\n"
        "    def __eq__(self, other): return np.ones(np.shape(other), bool)\n"
        "def attack():\n"
        "    return {'W1': np.zeros(3).view(Always), 'W2': np.asmatrix(np.eye(2))}\n"
    )
    result = attack(source)
    assert result.calls[0].outputs == {}
    assert set(result.calls[0].problems) == {"W1", "W2"}


def test_deny_object_array_pickle_payload(attack, tmp_path):
    marker = tmp_path / "pwned"
    source = (
        "import numpy as np, pathlib\n"
        "def attack():\n"
        f"    evil = np.array([pathlib.Path({str(marker)!r})], dtype=object)\n"
        "    return {'W1': evil, 'b1': np.array([1.0, 2.0], dtype=object)}\n"
    )
    result = attack(source)
    assert result.calls[0].outputs == {}
    assert set(result.calls[0].problems) == {"W1", "b1"}
    assert not marker.exists()


def test_deny_forged_results_file_with_pickle(attack, tmp_path):
    marker = tmp_path / "pwned"
    source = (
        "import os, pathlib, numpy as np\n"
        "class Evil:\n"
        f"    def __reduce__(self): return (pathlib.Path.touch, (pathlib.Path({str(marker)!r}),))\n"
        "def attack():\n"
        "    np.savez('/tmp/outputs.npz', c0__W1=np.array([Evil()], dtype=object))\n"
        "    open('/tmp/meta.json', 'w').write('{\"status\": \"ok\", \"completed\": 1}')\n"
        "    os._exit(0)\n"
    )
    result = attack(source)
    assert not marker.exists()
    assert result.calls[0].outputs == {}
    assert result.calls[0].problems == {"W1": "not a plain numeric array"}


def test_deny_zip_bomb_results_file(attack):
    source = (
        "import os, numpy as np\n"
        "def attack():\n"
        "    np.savez_compressed('/tmp/outputs.npz', c0__W1=np.zeros(20_000_000))\n"
        "    open('/tmp/meta.json', 'w').write('{\"status\": \"ok\", \"completed\": 1}')\n"
        "    os._exit(0)\n"
    )
    result = attack(source)
    assert result.calls[0].outputs == {}
    assert result.calls[0].problems == {"W1": "too large"}


def test_deny_symlinked_and_fifo_result_files(attack):
    source = (
        "import os\n"
        "def attack():\n"
        "    os.symlink('/sandbox/lib/zygote.py', '/tmp/meta.json')\n"
        "    os.mkfifo('/tmp/outputs.npz')\n"
        "    os._exit(0)\n"
    )
    started = time.monotonic()
    result = attack(source)
    # the seccomp filter refuses symlink and mknod outright; the monitor's O_NOFOLLOW and
    # regular-file checks remain behind it
    assert result.status is Status.EXCEPTION and "PermissionError" in result.traceback
    assert result.calls[0].outputs == {}
    assert time.monotonic() - started < 2


def test_deny_oversized_results_file(attack):
    source = "import numpy as np\ndef attack():\n    return {'W1': np.ones(100_000)}\n"
    result = attack(source, limits=Limits(wall_seconds=3.0, result_bytes=10_000))
    assert result.calls[0].outputs == {}


def test_deny_forged_score_on_stdout(attack):
    source = (
        "import numpy as np\n"
        "def attack():\n"
        '    print(\'{"score": 100, "max_score": 100, "correct": true}\')\n'
        "    return {'W1': np.zeros(2)}\n"
    )
    result = attack(source, expected=[{"W1": (2,)}])
    assert result.stdout.startswith('{"score": 100')
    assert result.calls[0].outputs["W1"].tolist() == [0.0, 0.0]  # what was really returned


def test_deny_mutating_the_input_arrays(attack):
    x = np.arange(3.0)
    calls = [{"x": x}, {"x": x}]
    source = "def attack(x):\n    seen = x.copy()\n    x[:] = -1.0\n    return {'seen': seen}\n"
    result = attack(source, calls=calls)
    assert x.tolist() == [0.0, 1.0, 2.0]
    assert [call.outputs["seen"].tolist() for call in result.calls] == [[0.0, 1.0, 2.0]] * 2


def test_deny_wrong_dtype_shape_nan_and_non_dict(attack):
    source = (
        "import numpy as np\n"
        "def attack(k):\n"
        "    if k == 1:\n"
        "        return [np.zeros(2)]\n"
        "    return {'i': np.arange(2), 's': np.zeros(3), 'n': np.array([np.inf, 0.0]),\n"
        "            'c': np.zeros(2, complex)}\n"
    )
    expected = [{"i": (2,), "s": (2,), "n": (2,), "c": (2,), "m": (2,)}] * 2
    result = attack(source, calls=[{"k": 0.0}, {"k": 1.0}], expected=expected)
    problems = result.calls[0].problems
    assert problems["i"].startswith("wrong dtype int64")
    assert problems["s"] == "wrong shape (3,) (expected (2,))"
    assert problems["n"] == "contains NaN or infinity"
    assert problems["c"].startswith("wrong dtype complex128")
    assert problems["m"] == "missing"
    assert result.calls[1].returned.startswith("returned builtins.list")


# --- when the sandbox cannot run -------------------------------------------------------------


def test_deny_running_when_bubblewrap_is_missing(monkeypatch):
    monkeypatch.setattr("grader.sandbox.bwrap.find_bwrap", lambda: None)
    monkeypatch.setattr("grader.sandbox.health.find_bwrap", lambda: None)
    monkeypatch.delenv("GRADER_SANDBOX_UNCONFINED", raising=False)
    result = run_code("def f():\n    return {}\n", "f", [{}], FAST, warm=False)
    assert result.status is Status.SANDBOX_UNAVAILABLE
    assert "bubblewrap" in result.message
    ok, reason = __import__("grader.sandbox", fromlist=["check_sandbox"]).check_sandbox()
    assert not ok and "apt-get" not in reason and "bubblewrap" in reason
