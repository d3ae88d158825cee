"""The zygote: a warm Python with numpy imported that forks one fresh child per job.

Started by the parent as ``python -I -S -B zygote.py MODE SITE_DIR`` (MODE ``confined`` under
bubblewrap, ``unconfined`` only in the explicit development mode). It speaks the ``wire``
protocol on fds 0 (requests) and 1 (responses); fd 1 is moved away at start so no stray print
can corrupt the stream.

Per job: the zygote forks a *monitor*; the monitor enters new namespaces and mounts a fresh work
directory (confined), writes the inputs, forks the *student process* (init of the new pid
namespace), collects its capped output under a wall-clock deadline, then reads the result files
with O_NOFOLLOW after the whole pid namespace is dead, and answers the parent.
"""

import json
import os
import resource
import selectors
import signal
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wire

MAX_REQUEST = 64 << 20


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _read_result_file(path: str, cap: int) -> bytes | None:
    """Read a regular file without following links or blocking on a FIFO; None if unusable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
            return None
        return os.read(fd, cap + 1)[:cap]
    finally:
        os.close(fd)


def _summary(data: bytes) -> dict | None:
    """Return the harness's summary with only its known fields, or None when it is malformed.

    The student's code can write ``meta.json`` itself: nesting, wrong types and huge numbers
    are refused here, so nothing but flat text and small integers travels to the parent.
    """
    try:
        meta = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(meta, dict):
        return None
    status, trace = meta.get("status"), meta.get("traceback", "")
    problems, completed = meta.get("problems", {}), meta.get("completed", 0)
    if not (isinstance(status, str) and isinstance(trace, str) and isinstance(problems, dict)):
        return None
    if type(completed) is not int or not 0 <= completed < 1 << 31:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in problems.items()):
        return None
    return {"status": status, "traceback": trace, "problems": problems, "completed": completed}


def _write_new(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _student(
    header: dict, work_dir: str, out_w: int, err_w: int, seccomp: bytes | None, vm_base: int
) -> None:
    """In the student process: confine, set limits, run the harness. Never returns."""
    code = 70
    try:
        os.setsid()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 1 << 16)
        if seccomp is not None:
            import confine

            confine.drop_privileges(seccomp)
        limits = header["limits"]
        cpu = max(1, int(limits["cpu_seconds"] + 0.999))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (vm_base + limits["memory_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(work_dir)
        # line-buffered, so what was printed survives a kill or an exec
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        import harness

        harness.run(work_dir, header)
        code = 0
    finally:
        os._exit(code)


def _collect(pid: int, out_r: int, err_r: int, deadline: float, cap: int) -> dict:
    """Read the student's stdout/stderr up to ``cap`` bytes until it exits or time runs out."""
    buffers = {out_r: bytearray(), err_r: bytearray()}
    verdict = None
    pidfd = os.pidfd_open(pid)
    with selectors.DefaultSelector() as selector:
        selector.register(out_r, selectors.EVENT_READ)
        selector.register(err_r, selectors.EVENT_READ)
        selector.register(pidfd, selectors.EVENT_READ)
        open_pipes = 2
        exited = False
        while not exited or open_pipes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                verdict = verdict or "timeout"
                break
            for key, _ in selector.select(min(remaining, 0.05) if exited else remaining):
                if key.fd == pidfd:
                    exited = True
                    selector.unregister(pidfd)
                    deadline = min(deadline, time.monotonic() + 0.2)
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    open_pipes -= 1
                    continue
                buffers[key.fd] += chunk
            if len(buffers[out_r]) + len(buffers[err_r]) > cap:
                verdict = "output_limit"
                break
    os.close(pidfd)
    return {
        "verdict": verdict,
        "stdout": bytes(buffers[out_r][:cap]),
        "stderr": bytes(buffers[err_r][:cap]),
    }


def _monitor(
    header: dict, source: bytes, inputs: bytes, reply_fd: int, seccomp: bytes | None, vm_base: int
) -> None:
    """In the monitor process: run one job and answer the parent. Never returns."""
    limits = header["limits"]
    started = time.monotonic()
    response: dict = {"status": "crashed", "message": "", "meta": None}
    outputs = b""
    streams = {"stdout": b"", "stderr": b""}
    work_dir = "/tmp"
    confined = seccomp is not None
    try:
        if confined:
            import confine

            # inherited by the student process: under a cgroup memory limit, the kernel's OOM
            # killer takes it (the largest) rather than the zygote
            with open("/proc/self/oom_score_adj", "w", encoding="ascii") as handle:
                handle.write("1000")

            confine.isolate_job(work_dir, limits["tmpfs_bytes"], limits["max_files"])
        else:
            work_dir = tempfile.mkdtemp(prefix="grader-sandbox-")
        _write_new(os.path.join(work_dir, "submission.py"), source)
        _write_new(os.path.join(work_dir, "inputs.npz"), inputs)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(out_r)
            os.close(err_r)
            _student(header, work_dir, out_w, err_w, seccomp, vm_base)
        os.close(out_w)
        os.close(err_w)
        deadline = started + limits["wall_seconds"]
        collected = _collect(pid, out_r, err_r, deadline, limits["output_bytes"])
        os.close(out_r)
        os.close(err_r)
        if collected["verdict"]:
            os.kill(pid, signal.SIGKILL)
        if not confined:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, wait_status, usage = os.wait4(pid, 0)
        streams = {"stdout": collected["stdout"], "stderr": collected["stderr"]}
        meta_bytes = _read_result_file(os.path.join(work_dir, "meta.json"), 1 << 16)
        outputs = (
            _read_result_file(os.path.join(work_dir, "outputs.npz"), limits["result_bytes"]) or b""
        )
        cpu_used = usage.ru_utime + usage.ru_stime
        response["cpu_seconds"] = cpu_used
        if collected["verdict"]:
            response["status"] = collected["verdict"]
        elif os.WIFSIGNALED(wait_status):
            sig = os.WTERMSIG(wait_status)
            cpu_out = sig in (signal.SIGXCPU, signal.SIGKILL) and cpu_used >= limits["cpu_seconds"]
            response["status"] = "timeout" if cpu_out else "crashed"
            response["message"] = f"killed by signal {signal.Signals(sig).name}"
        elif meta_bytes is None:
            response["message"] = (
                f"the code exited (status {os.WEXITSTATUS(wait_status)}) before returning"
            )
        else:
            response["meta"] = _summary(meta_bytes)
            if response["meta"] is None:
                response["message"] = "the result summary (meta.json) was unreadable or malformed"
            else:
                response["status"] = "reported"
        if not confined:
            import shutil

            shutil.rmtree(work_dir, ignore_errors=True)
    except BaseException as exc:  # report, never hang the parent
        response["status"] = "crashed"
        response["message"] = f"sandbox monitor failed: {type(exc).__name__}: {exc}"[:500]
    response["elapsed"] = time.monotonic() - started
    try:
        wire.write_message(
            reply_fd,
            [json.dumps(response).encode(), outputs, streams["stdout"], streams["stderr"]],
            os.write,
        )
    finally:
        os._exit(0)


def main() -> None:
    """Import numpy, say ready, then serve jobs one at a time until stdin closes."""
    mode, site_dir = sys.argv[1], sys.argv[2]
    confined = mode == "confined"
    sys.path.append(site_dir)
    request_fd, reply_fd = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    import harness  # noqa: F401
    import numpy  # noqa: F401  (the point of the zygote: numpy is imported once)

    vm_base = _vm_size()
    wire.write_message(
        reply_fd, [json.dumps({"ready": True, "pid": os.getpid()}).encode()], os.write
    )
    while True:
        try:
            frames = wire.read_message(request_fd, MAX_REQUEST, os.read)
        except wire.WireError:
            return
        header = json.loads(frames[0])
        # confined: the student's seccomp filter (compiled by the parent) comes with every job;
        # without one the student process refuses to start (ConfinementError), failing closed
        seccomp = (frames[3] if len(frames) > 3 else b"") if confined else None
        pid = os.fork()
        if pid == 0:
            os.close(request_fd)
            _monitor(header, frames[1], frames[2], reply_fd, seccomp, vm_base)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            crash = {"status": "crashed", "message": "sandbox monitor died", "meta": None}
            wire.write_message(reply_fd, [json.dumps(crash).encode(), b"", b"", b""], os.write)


if __name__ == "__main__":
    main()
