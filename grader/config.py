"""Configuration read from the environment (DESIGN section 10).

Every setting has a default that works on a laptop: SQLite under ``instance/`` and grading
in-process. Production sets ``DATABASE_URL``, ``SECRET_KEY`` and ``CELERY_BROKER_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from grader.resilience import engine_options

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def normalise_database_url(url: str) -> str:
    """Return ``url`` with a PostgreSQL scheme mapped to the psycopg 3 driver.

    ``postgres://`` and ``postgresql://`` both become ``postgresql+psycopg://`` so that an
    operator can paste the URL their host gives them.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def rate_limit_storage(env: Mapping[str, str]) -> str:
    """Return where the API's rate-limit counts live: ``RATELIMIT_STORAGE_URI``; else the Redis
    of ``CELERY_BROKER_URL``, when it is one; else ``memory://``.

    Only shared storage makes the limit per token: in memory each gunicorn worker process
    counts on its own, so a token gets up to (workers x replicas) times its limit."""
    explicit = env.get("RATELIMIT_STORAGE_URI", "").strip()
    if explicit:
        return explicit
    broker = env.get("CELERY_BROKER_URL", "").strip()
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return "memory://"


class Config:
    """Settings for a running service; each attribute may be overridden by the environment."""

    def __init__(self) -> None:
        env = os.environ
        self.INSTANCE_PATH = Path(env.get("GRADER_INSTANCE_PATH", PROJECT_ROOT / "instance"))
        default_db = f"sqlite:///{self.INSTANCE_PATH / 'grader.sqlite'}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", default_db))
        self.SECRET_KEY = env.get("SECRET_KEY") or _instance_secret(self.INSTANCE_PATH)
        self.GRADER_EXERCISES_DIR = Path(
            env.get("GRADER_EXERCISES_DIR", PROJECT_ROOT / "exercises")
        )
        self.CELERY_BROKER_URL = env.get("CELERY_BROKER_URL") or None
        self.GRADER_API_RATE_LIMIT = env.get("GRADER_API_RATE_LIMIT", "600/minute")
        self.RATELIMIT_STORAGE_URI = rate_limit_storage(env)
        # Redis away: count in each process until it is back, rather than fail every request.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        # grader.api.ratelimit writes the headers (Flask-Limiter's add Retry-After to every one).
        self.RATELIMIT_HEADERS_ENABLED = False
        self.GRADER_LOGIN_RATE_LIMIT = env.get("GRADER_LOGIN_RATE_LIMIT", "10 per minute")
        self.GRADER_SANDBOX_UNCONFINED = env.get("GRADER_SANDBOX_UNCONFINED", "") == "1"
        self.MAX_CONTENT_LENGTH = int(env.get("GRADER_MAX_BODY_BYTES", 256 * 1024))
        # Proxies in front whose X-Forwarded-For/-Proto are trusted (compose: 1, nginx); the
        # client address then keys the login and API limits, not the proxy's.
        self.GRADER_PROXY_HOPS = int(env.get("GRADER_PROXY_HOPS", "0"))
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.CELERY_RESULT_BACKEND = env.get("CELERY_RESULT_BACKEND") or None
        self.CELERY_VISIBILITY_TIMEOUT = int(env.get("CELERY_VISIBILITY_TIMEOUT", "300"))
        self.GRADER_METRICS_TOKEN = env.get("GRADER_METRICS_TOKEN") or None
        # How long a web process may answer from its copy of a token or an exercise's current
        # version (grader/lookups.py); 0: look both up on every request.
        self.GRADER_LOOKUP_CACHE_SECONDS = float(env.get("GRADER_LOOKUP_CACHE_SECONDS", "2"))
        # Check every API response against its OpenAPI model (a 500 when one does not fit): on
        # in the test suite, where it guards the contract; it costs a parse of every body.
        self.GRADER_VALIDATE_RESPONSES = env.get("GRADER_VALIDATE_RESPONSES", "") == "1"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env.get("GRADER_SECURE_COOKIES", "") == "1"
        self.TESTING = False


class TestConfig(Config):
    """Settings for the test suite: a database per test, given by the fixture."""

    def __init__(self, database_url: str, instance_path: Path) -> None:
        os.environ.setdefault("GRADER_INSTANCE_PATH", str(instance_path))
        super().__init__()
        self.INSTANCE_PATH = instance_path
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.SECRET_KEY = "test-secret-key"
        self.TESTING = True
        self.GRADER_VALIDATE_RESPONSES = True
        self.WTF_CSRF_ENABLED = False
        self.GRADER_API_RATE_LIMIT = "0"
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.CELERY_BROKER_URL = None


def _instance_secret(instance_path: Path) -> str:
    """Return a per-installation secret kept in ``instance/secret_key`` (created once, 0600).

    A laptop install then keeps its sessions across restarts without the operator having to
    invent a key; production sets ``SECRET_KEY`` and this file is never written.
    """
    import secrets

    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
