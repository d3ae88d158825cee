"""Behaving well when the database is away: fail fast with 503 + Retry-After, recover alone.

``engine_options(url)`` returns the ``SQLALCHEMY_ENGINE_OPTIONS`` that bound every wait on
PostgreSQL: a connect timeout, a pool checkout timeout, server-side statement, lock and
idle-in-transaction timeouts, TCP keepalives and a user timeout (a dead peer is noticed).

``install_idle_ping(engine)`` (``init_app`` does it) pings a pooled connection on checkout when it
has sat unused for ``GRADER_DB_PING_IDLE_SECONDS`` (default 1) or more, and replaces it if the
ping fails: a connection broken by a restart is not handed to a request. A connection back in
the pool for less than that was working a moment ago and goes out unpinged, which saves every
request of a busy process a round trip; should the server have restarted within that moment,
the request meets the broken connection and answers 503 (below), and SQLAlchemy discards the
whole pool's connections of before the failure.

``init_app(app)`` turns a database outage seen by a request into ``503 Service Unavailable``
with ``Retry-After``: ``application/problem+json`` under ``/api/``, a short HTML page elsewhere,
instead of a 500 or a request that hangs. Nothing needs restarting when the database is back:
the pool reconnects on the next checkout.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from grader.settings import Settings, load_settings

OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)
RETRY_AFTER_SECONDS = 5
_IDLE_SINCE = "grader.idle_since"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body><h1>Temporarily unavailable</h1>
<p>The grader cannot reach its database right now. Nothing you submitted before this page
was lost. Please try again in a few seconds.</p></body></html>
"""


def engine_options(url: str, settings: Settings | None = None) -> dict[str, Any]:
    """Return SQLAlchemy engine options for ``url`` that make every database wait bounded.

    PostgreSQL (psycopg 3) gets, from ``settings`` (default: the environment's), with defaults:
    ``GRADER_DB_CONNECT_TIMEOUT``
    (3 s), ``GRADER_DB_STATEMENT_TIMEOUT_MS`` (15000), ``GRADER_DB_LOCK_TIMEOUT_MS`` (5000),
    ``GRADER_DB_POOL_SIZE`` (5), ``GRADER_DB_MAX_OVERFLOW`` (5), ``GRADER_DB_POOL_TIMEOUT`` (5 s).
    Other backends (the SQLite default) get nothing: SQLite waits on its busy timeout. Broken
    connections are found by ``install_idle_ping``, not by SQLAlchemy's ``pool_pre_ping``,
    which pings on every checkout.
    """
    options: dict[str, Any] = {}
    if not url.startswith(("postgresql", "postgres:")):
        return options
    s = load_settings() if settings is None else settings
    statement_ms = s.grader_db_statement_timeout_ms
    lock_ms = s.grader_db_lock_timeout_ms
    server_options = (
        f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    options.update(
        pool_size=s.grader_db_pool_size,
        max_overflow=s.grader_db_max_overflow,
        pool_timeout=s.grader_db_pool_timeout,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": max(2, s.grader_db_connect_timeout),
            "options": server_options,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
            "tcp_user_timeout": statement_ms + 5000,
            "application_name": s.grader_db_application_name,
            # psycopg prepares a statement after its 5th run and drops them all at a ROLLBACK,
            # which ends every request (the pool resets each connection it gets back): here
            # they never paid off and cost two DEALLOCATE ALL round trips a request.
            "prepare_threshold": None,
        },
    )
    return options


def install_idle_ping(engine: Engine, idle_seconds: float | None = None) -> None:
    """Ping ``engine``'s pooled connections on checkout after ``idle_seconds`` unused (default
    ``GRADER_DB_PING_IDLE_SECONDS``, 1); a connection that fails its ping is replaced (the
    pool tries a new one). Installed once per engine."""
    if getattr(engine, "_grader_idle_ping", False):
        return
    seconds = load_settings().grader_db_ping_idle_seconds if idle_seconds is None else idle_seconds
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return  # a new connection, or one in use a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: the pool replaces it
            raise DisconnectionError(f"connection failed its ping: {exc}") from exc
        if not alive:
            raise DisconnectionError("connection failed its ping")

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)
    engine._grader_idle_ping = True  # type: ignore[attr-defined]


def outage_response(retry_after: int = RETRY_AFTER_SECONDS) -> Response:
    """Return the 503 for the current request: problem+json under /api/, HTML elsewhere."""
    headers = {"Retry-After": str(retry_after)}
    if request.path.startswith("/api/"):
        from grader.api.problems import problem_response

        return problem_response(
            503,
            "database-unavailable",
            "Service Unavailable",
            f"The database is unavailable; nothing was stored by this request. Retry in "
            f"{retry_after} seconds.",
            headers,
        )
    return Response(_PAGE, status=503, mimetype="text/html", headers=headers)


def _rollback_quietly() -> None:
    from grader.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is already gone; the pool replaces it
        pass


def _remove_session_safely(_exc: BaseException | None) -> None:
    """End the request's session even when its connection died under it.

    Flask-SQLAlchemy's own teardown rolls back and closes the session; on a connection the
    server dropped, that rollback raises after the response was built, and the WSGI server
    turns it into a 500. Registered after Flask-SQLAlchemy's, this teardown runs first: it
    invalidates the dead connection (the pool replaces it) and leaves an empty session.
    """
    from grader.extensions import db

    try:
        db.session.remove()
    except Exception:  # a dead connection: drop it, never fail the response
        try:
            db.session().invalidate()
        except Exception:
            pass
        db.session.registry.clear()


def init_app(app: Flask) -> None:
    """Answer database outages with 503 + ``Retry-After`` (``GRADER_RETRY_AFTER``, default 5)
    and ping the app's pooled connections that have been idle (``install_idle_ping``)."""
    from grader.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            install_idle_ping(engine, app.config.get("GRADER_DB_PING_IDLE_SECONDS"))
    app.teardown_appcontext(_remove_session_safely)
    retry_after = int(app.config.get("GRADER_RETRY_AFTER", RETRY_AFTER_SECONDS))

    def _database_unavailable(exc: Exception) -> Response:
        _rollback_quietly()
        app.logger.warning(
            "database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__
        )
        return outage_response(retry_after)

    for error in OUTAGE_ERRORS:
        app.register_error_handler(error, _database_unavailable)
