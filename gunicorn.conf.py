"""Gunicorn settings for the web service: ``gunicorn -c gunicorn.conf.py 'grader:create_app()'``.

Every value comes from the environment with a default fit for a container of a few cores:

    GRADER_BIND               address to listen on (default 0.0.0.0:8000; PORT alone also works)
    WEB_CONCURRENCY           worker processes (default CPU + 1, at most 8)
    GRADER_THREADS            threads per worker (gunicorn's gthread worker; default 2)
    GRADER_TIMEOUT            seconds a silent worker may live before it is killed (default 60)
    GRADER_GRACEFUL_TIMEOUT   seconds a stopping worker may finish its requests (default 30)
    GRADER_MAX_REQUESTS       requests after which a worker is replaced (default 100000; 0: never)
    GRADER_KEEPALIVE          seconds an idle kept-alive connection stays open (default 5; keep
                              it above the proxy's 4 s, deploy/nginx)
    GRADER_ACCESS_LOG         "-" (stdout, the default), a file, or "off"
    PROMETHEUS_MULTIPROC_DIR  where workers share their metrics (default: a fresh temp folder)

Workers are recycled after ``max_requests`` (+ random jitter, so they do not all restart at
once); ``SIGHUP`` reloads the workers gracefully, ``SIGTERM`` lets running requests finish
within the graceful timeout. The access log is one JSON object per line.

gunicorn runs behind nginx (``deploy/nginx``, DESIGN 10): a gthread worker gives a connection a
thread while it reads the request, so clients that send a byte and stall must meet nginx, which
reads each request whole, not gunicorn.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import tempfile


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def default_workers(cpus: int | None = None) -> int:
    """Return the default worker count: CPUs + 1, capped at 8 (each worker holds a DB pool).

    Grading is CPU-bound Python, so requests in flight beyond the cores only wait longer: on 2
    cores, 3 workers x 2 threads gave more submissions/s and a lower p99 than 5 x 2 or 3 x 4
    (benchmarks/results/gunicorn-config.md)."""
    cpus = cpus or multiprocessing.cpu_count()
    return min(cpus + 1, 8)


bind = [os.environ.get("GRADER_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
workers = _int("WEB_CONCURRENCY", default_workers())
# gunicorn's own threaded worker; slow and silent clients wait in nginx, in front (DESIGN 10).
worker_class = "gthread"
threads = _int("GRADER_THREADS", 2)
timeout = _int("GRADER_TIMEOUT", 60)
graceful_timeout = _int("GRADER_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GRADER_KEEPALIVE", 5)
max_requests = _int("GRADER_MAX_REQUESTS", 100000)
max_requests_jitter = max(max_requests // 10, 0)
backlog = _int("GRADER_BACKLOG", 2048)
# The heartbeat file in memory: a container's overlay filesystem can stall os.fchmod for seconds.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The longest request line gunicorn takes (its maximum; the default is 4094): the same 8 KiB
# as the proxy in front (deploy/nginx), which answers a longer one with a 414 problem itself.
limit_request_line = 8190
preload_app = False  # each worker opens its own database pool after the fork

_access = os.environ.get("GRADER_ACCESS_LOG", "-")
accesslog = None if _access == "off" else _access
errorlog = "-"
loglevel = os.environ.get("GRADER_LOG_LEVEL", "info")
logger_class = "grader.observability.GunicornJsonLogger"

# prometheus_client reads this variable when first imported, in each worker: set it before.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="grader-prometheus-")


def on_starting(server: object) -> None:
    """Empty the metrics folder: files left by a previous run would be counted again."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for path in glob.glob(os.path.join(folder, "*.db")):
        os.remove(path)


def child_exit(server: object, worker: object) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop being reported."""
    try:
        from prometheus_client import multiprocess
    except ImportError:  # metrics are optional for gunicorn itself
        return
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def post_worker_init(worker: object) -> None:
    """Freeze what the worker has loaded (the app, numpy, sympy...) out of the garbage
    collector's view: grading leaves cyclic garbage (the engine's graphs), and a full
    collection that scans every imported object was the 60 ms tail of a formula submission
    (10 ms with the import-time objects frozen; benchmarks/results/formula.md)."""
    import gc

    gc.collect()
    gc.freeze()
