"""Fixtures of the deployment tests: services on loopback (PostgreSQL, Redis), a TCP proxy.

Tests that need PostgreSQL or Redis skip when the service does not answer on 127.0.0.1. They
use a database (PostgreSQL) or DB number (Redis) of their own and remove it afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from flask_migrate import upgrade

from grader import config as grader_config
from grader import create_app
from grader.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "GRADER_DEPLOY_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("GRADER_DEPLOY_REDIS", "redis://127.0.0.1:6379/5")
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than about 20 seconds")


def port_open(host: str, port: int) -> bool:
    """Return True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def pg_database() -> Iterator[str]:
    """Create an empty PostgreSQL database of this test's own; yield its URL; drop it."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1")
    name = f"grader_deploy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rpartition("/")[0] + "/" + name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """Yield the URL of this suite's own Redis DB number (flushed before and after)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def serve_app(
    tmp_path: Path,
    workers: int = 2,
    threads: int = 2,
    url: str | None = None,
    **settings: str,
):
    """Serve the app (on the database ``url``, default a new SQLite file; exercises imported, a
    token) under gunicorn with ``gunicorn.conf.py``; yield (base URL, token, log path, process,
    app)."""
    from grader.services.exercises import import_exercises
    from grader.services.users import create_token

    url = url or f"sqlite:///{tmp_path / 'web.sqlite'}"
    app = create_app(grader_config.TestConfig(url, tmp_path / "instance"))
    with app.app_context():
        upgrade()
        import_exercises([ROOT / "exercises" / "jacobian-shape.yaml"])
        token = create_token("web", ("submit", "read:scores"))[1]
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "SECRET_KEY": "t",
        "GRADER_API_RATE_LIMIT": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "GRADER_INSTANCE_PATH": str(tmp_path / "instance"),
        **settings,
    }
    log = tmp_path / "gunicorn.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                GUNICORN,
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "benchmarks.load.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine boots 2 workers slowly
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base, token, log, process, app
    finally:
        if process.poll() is None:  # a test may have stopped it
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        # Close this process's connections now: left in the pool, they stay open until the app
        # is garbage collected, which warns (ResourceWarning) in whichever test runs then.
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
