"""Binding the database: SQLite pragmas for the embedded default, migrations for every backend."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from grader.extensions import db, migrate

# The checkout's folder; an installed copy (Docker) names it with GRADER_MIGRATIONS_DIR.
MIGRATIONS_DIR = Path(
    os.environ.get("GRADER_MIGRATIONS_DIR", Path(__file__).resolve().parent.parent / "migrations")
)
_SQLITE_HOOK_INSTALLED = False


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """Turn on WAL, a busy timeout and foreign keys on every new SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def configure_database(app: Flask) -> None:
    """Bind SQLAlchemy and Flask-Migrate to ``app``; create the SQLite folder if needed."""
    global _SQLITE_HOOK_INSTALLED
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if not _SQLITE_HOOK_INSTALLED:
        event.listen(Engine, "connect", _sqlite_pragmas)
        _SQLITE_HOOK_INSTALLED = True
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))


def write_connection(session: Session) -> Connection:
    """Return the connection on which ``session`` should send one self-contained write.

    While the session holds no connection yet (a warm API request has looked nothing up in the
    database), a new one in autocommit: the statement commits by itself, without the BEGIN and
    COMMIT round trips. Otherwise the connection of its open transaction, so that the write
    commits with what the session did before it. Either way the caller commits the session
    afterwards (a no-op on the wire in autocommit; the session's commit hooks still run).
    """
    transaction = session.get_transaction()
    # SQLAlchemy keeps the connections a transaction has procured in ``_connections`` and
    # offers no public way to ask whether there is one.
    if transaction is not None and transaction._connections:
        return session.connection()
    return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def commit_keeping_state() -> None:
    """Commit the session without expiring the objects it holds.

    After a plain commit every loaded object is expired, so the next attribute read reloads it
    (the submission, its version, exercise, user and token: one query each). What this commit
    wrote is what the objects already hold, and a request's session ends soon after, so the
    hot paths (an LMS user's creation, a stored submission) keep them as they are.
    """
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous
