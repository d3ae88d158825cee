"""The Flask configuration (DESIGN section 10), built from ``grader.settings``.

Every setting has a default that works on a laptop: SQLite under ``instance/`` and grading
in-process. Production sets ``DATABASE_URL``, ``SECRET_KEY`` and ``CELERY_BROKER_URL``.
Building a ``Config`` reads the environment and nothing else; ``create_app`` makes the folders
and the laptop's secret key file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from grader.resilience import engine_options
from grader.settings import PROJECT_ROOT, Settings, load_settings, normalise_database_url

__all__ = ["PROJECT_ROOT", "Config", "TestConfig", "instance_secret", "normalise_database_url"]


class Config:
    """Settings for a running service, as Flask configuration keys (from ``Settings``)."""

    def __init__(self, settings: Settings | None = None) -> None:
        s = load_settings() if settings is None else settings
        self.SETTINGS = s
        self.INSTANCE_PATH = s.grader_instance_path
        self.SQLALCHEMY_DATABASE_URI = s.sqlalchemy_url
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI, s)
        self.SECRET_KEY = s.secret_key  # None: create_app reads or makes instance/secret_key
        self.GRADER_EXERCISES_DIR = s.grader_exercises_dir
        self.GRADER_MIGRATIONS_DIR = s.grader_migrations_dir
        self.CELERY_BROKER_URL = s.celery_broker_url
        self.CELERY_RESULT_BACKEND = s.celery_result_backend
        self.CELERY_VISIBILITY_TIMEOUT = s.celery_visibility_timeout
        self.GRADER_API_RATE_LIMIT = s.grader_api_rate_limit
        self.RATELIMIT_STORAGE_URI = s.rate_limit_storage
        # Redis away: count in each process until it is back, rather than fail every request.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        # grader.api.ratelimit writes the headers (Flask-Limiter's add Retry-After to every one).
        self.RATELIMIT_HEADERS_ENABLED = False
        self.GRADER_LOGIN_RATE_LIMIT = s.grader_login_rate_limit
        self.GRADER_LTI_LOGIN_RATE_LIMIT = s.grader_lti_login_rate_limit
        self.GRADER_SANDBOX_UNCONFINED = s.grader_sandbox_unconfined
        self.MAX_CONTENT_LENGTH = s.grader_max_body_bytes
        # Proxies in front whose X-Forwarded-For/-Proto are trusted (compose: 1, nginx); the
        # client address then keys the login and API limits, not the proxy's.
        self.GRADER_PROXY_HOPS = s.grader_proxy_hops
        self.GRADER_METRICS_TOKEN = s.grader_metrics_token
        self.PROMETHEUS_MULTIPROC_DIR = s.prometheus_multiproc_dir
        self.GRADER_DB_PING_IDLE_SECONDS = s.grader_db_ping_idle_seconds
        # Check every API response against its OpenAPI model (a 500 when one does not fit): on
        # in the test suite, where it guards the contract; it costs a parse of every body.
        self.GRADER_VALIDATE_RESPONSES = s.grader_validate_responses
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = s.grader_secure_cookies
        self.GRADER_PUBLIC_URL = s.grader_public_url.rstrip("/")
        self.GRADER_WEBHOOK_ALLOW_PRIVATE = s.grader_webhook_allow_private
        # Seconds between two fetches of a platform's JWKS for an unknown key id (DESIGN 11).
        self.LTI_JWKS_COOLDOWN = 10.0
        self.TESTING = False


class TestConfig(Config):
    """Settings for the test suite: a database per test, given by the fixture."""

    def __init__(self, database_url: str, instance_path: Path) -> None:
        super().__init__()
        self.INSTANCE_PATH = instance_path
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI, self.SETTINGS)
        self.SECRET_KEY = "test-secret-key"
        self.TESTING = True
        self.GRADER_VALIDATE_RESPONSES = True
        self.WTF_CSRF_ENABLED = False
        self.GRADER_API_RATE_LIMIT = "0"
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.CELERY_BROKER_URL = None


def instance_secret(instance_path: Path) -> str:
    """Return a per-installation secret kept in ``instance/secret_key`` (created once, 0600).

    A laptop install then keeps its sessions across restarts without the operator having to
    invent a key; production sets ``SECRET_KEY`` and this file is never written.
    """
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
