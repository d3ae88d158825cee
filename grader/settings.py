"""Every setting the service reads from the environment, in one typed class (pydantic-settings).

Each field is the environment variable of the same name in capitals (``database_url`` is
``DATABASE_URL``); ``docs/deployment.md`` lists them. An empty variable counts as unset. A value
that does not parse is a ``SettingsError`` naming the variable, the value and what is expected,
raised when the settings are read (``load_settings``), never at import. Nothing here touches the
file system.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_SIZE = re.compile(r"^\s*(\d+)\s*(k|kb|kib|m|mb|mib|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20}
_UNITS |= {"mib": 1 << 20}


class SettingsError(ValueError):
    """Raised when an environment variable holds a value its setting cannot take."""


def parse_size(value: object) -> object:
    """Return a size in bytes from ``262144``, ``256k``/``256KiB`` or ``1M``/``1MiB``
    (k and M are 1024 and 1024²); other values go on to pydantic's integer check."""
    if isinstance(value, str):
        found = _SIZE.match(value)
        if found is None:
            raise ValueError(
                f"{value!r} is not a size: give bytes (262144) or a number with k or M "
                "(256k, 1M; k = 1024 bytes)"
            )
        return int(found.group(1)) * _UNITS[(found.group(2) or "").lower()]
    return value


ByteCount = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]


class Settings(BaseSettings):
    """The service's settings, read from the environment with defaults for a laptop."""

    model_config = SettingsConfigDict(
        case_sensitive=False, env_ignore_empty=True, extra="ignore", frozen=True
    )

    # -- where things are
    grader_instance_path: Path = PROJECT_ROOT / "instance"
    grader_exercises_dir: Path = PROJECT_ROOT / "exercises"
    grader_migrations_dir: Path = PROJECT_ROOT / "migrations"
    database_url: str | None = None  # None: SQLite under the instance folder
    secret_key: str | None = None  # None: a key kept in the instance folder (create_app)

    # -- the database's waits (PostgreSQL)
    grader_db_connect_timeout: int = Field(3, ge=1)
    grader_db_statement_timeout_ms: int = Field(15000, ge=1)
    grader_db_lock_timeout_ms: int = Field(5000, ge=1)
    grader_db_pool_size: int = Field(5, ge=1)
    grader_db_max_overflow: int = Field(5, ge=0)
    grader_db_pool_timeout: int = Field(5, ge=1)
    grader_db_application_name: str = "backprop-grader"
    grader_db_ping_idle_seconds: float = Field(1.0, ge=0)

    # -- the queue
    celery_broker_url: str | None = None  # None: grading in-process
    celery_result_backend: str | None = None
    celery_visibility_timeout: int = Field(300, ge=1)

    # -- requests
    grader_api_rate_limit: str = "600/minute"
    grader_login_rate_limit: str = "10 per minute"
    # LTI logins per address: a class behind one school address launches at once
    grader_lti_login_rate_limit: str = "300 per minute"
    # None: the Redis of the broker when it is one, else memory (see rate_limit_storage)
    ratelimit_storage_uri: str | None = None
    grader_proxy_hops: int = Field(0, ge=0)  # proxies in front whose X-Forwarded-* are trusted
    grader_max_body_bytes: ByteCount = 256 * 1024
    grader_secure_cookies: bool = False
    # The address LMSs reach the service at: the LTI tool URLs `grader lti register` prints.
    grader_public_url: str = "http://127.0.0.1:5000"
    grader_validate_responses: bool = False
    # Webhooks may POST to private, loopback and link-local addresses (a receiver on the same
    # network); off by default, so a course admin cannot make the server call its neighbours.
    grader_webhook_allow_private: bool = False

    # -- metrics
    grader_metrics_token: str | None = None
    prometheus_multiproc_dir: Path | None = None
    grader_worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    grader_worker_metrics_addr: str = "0.0.0.0"  # all interfaces: inside a container

    # -- the sandbox (read by grader.sandbox itself, a library without Flask; listed here so
    # that every variable is in one place): a delegated cgroup v2 directory for its limits
    grader_sandbox_cgroup: Path | None = None

    # -- development only
    grader_sandbox_unconfined: bool = False

    @property
    def rate_limit_storage(self) -> str:
        """Return where the API's rate-limit counts live: ``RATELIMIT_STORAGE_URI``; else the
        Redis of ``CELERY_BROKER_URL``, when it is one; else ``memory://``.

        Only shared storage makes the limit per token: in memory each gunicorn worker process
        counts on its own, so a token gets up to (workers x replicas) times its limit."""
        if self.ratelimit_storage_uri:
            return self.ratelimit_storage_uri
        broker = self.celery_broker_url or ""
        if broker.startswith(("redis://", "rediss://")):
            return broker
        return "memory://"

    @property
    def sqlalchemy_url(self) -> str:
        """Return the SQLAlchemy URL: ``DATABASE_URL`` with the psycopg 3 driver for
        PostgreSQL, else SQLite under the instance folder."""
        url = self.database_url or f"sqlite:///{self.grader_instance_path / 'grader.sqlite'}"
        return normalise_database_url(url)


def normalise_database_url(url: str) -> str:
    """Return ``url`` with a PostgreSQL scheme mapped to the psycopg 3 driver.

    ``postgres://`` and ``postgresql://`` both become ``postgresql+psycopg://`` so that an
    operator can paste the URL their host gives them.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings() -> Settings:
    """Return the settings the environment gives now; raise ``SettingsError`` listing every
    variable whose value cannot be read, with what it should be."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}={error.get('input')!r}: {message}")
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None
