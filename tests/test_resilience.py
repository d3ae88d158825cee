"""Resilience to database outages: bounded waits, idle pings, and a 503 with Retry-After (not a
500) when the database is down. The outage under load is in tests/deploy/test_database_outage.py."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from grader import resilience


def test_engine_options_bound_every_postgresql_wait(monkeypatch):
    monkeypatch.setenv("GRADER_DB_STATEMENT_TIMEOUT_MS", "7000")
    options = resilience.engine_options("postgresql+psycopg://u@h/db")
    assert "pool_pre_ping" not in options  # install_idle_ping finds broken connections
    assert options["pool_timeout"] == 5
    args = options["connect_args"]
    assert args["connect_timeout"] == 3
    assert "statement_timeout=7000" in args["options"]
    assert "lock_timeout=" in args["options"]
    assert resilience.engine_options("sqlite:////tmp/x.sqlite") == {}


def counting_engine(url: str, idle_seconds: float, fail: list[bool] | None = None):
    """An engine with the idle ping, whose dialect counts (and, while ``fail[0]``, fails)
    its pings."""
    engine = create_engine(url)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def do_ping(dbapi_connection):
        pings.append(dbapi_connection)
        if fail and fail[0]:
            raise OperationalError("SELECT 1", {}, ConnectionResetError("server closed"))
        return real_ping(dbapi_connection)

    engine.dialect.do_ping = do_ping
    resilience.install_idle_ping(engine, idle_seconds)
    resilience.install_idle_ping(engine, idle_seconds)  # installed once per engine
    return engine, pings


def test_idle_ping_spares_busy_connections_and_pings_idle_ones(tmp_path):
    engine, pings = counting_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", 0.3)
    for _ in range(5):  # back-to-back checkouts: in use a moment ago, no ping
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == []
    time.sleep(0.35)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert len(pings) == 1
    engine.dispose()


def test_a_connection_failing_its_idle_ping_is_replaced(tmp_path):
    fail = [True]
    engine, pings = counting_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", 0.05, fail)
    with engine.connect() as conn:
        first = conn.connection.dbapi_connection
    time.sleep(0.1)
    with engine.connect() as conn:  # the ping fails: a new connection is handed out instead
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert conn.connection.dbapi_connection is not first
    assert pings == [first]
    engine.dispose()


@pytest.fixture()
def flaky_app(app):
    """``app`` with outage handling and two routes whose database 'is down'."""
    resilience.init_app(app)

    def down():
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    app.add_url_rule("/api/v1/_down", "api_down", down)
    app.add_url_rule("/_down", "web_down", down)
    return app


def test_api_outage_is_a_problem_503_with_retry_after(flaky_app):
    response = flaky_app.test_client().get("/api/v1/_down")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert response.json["type"].endswith("/database-unavailable")


def test_web_outage_is_a_plain_503_page(flaky_app):
    response = flaky_app.test_client().get("/_down")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "5"
    assert "try again" in response.get_data(as_text=True)
