"""A database outage: 503 with Retry-After (not a 500, not a hang), nothing acknowledged lost,
recovery without a restart. PostgreSQL is reached through a loopback proxy that the test cuts."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from grader import config as grader_config
from grader import create_app, resilience
from grader.extensions import db
from grader.models import Submission
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth
from tests.deploy.conftest import ROOT
from tests.deploy.proxy import TcpProxy
from tests.test_resilience import counting_engine


def test_idle_ping_replaces_a_connection_the_server_closed(pg_database):
    """PostgreSQL ends the backend of an idle pooled connection (as a restart does): the next
    checkout pings it, finds it broken and hands out a working one, with no error."""
    engine, pings = counting_engine(
        pg_database.replace("postgresql://", "postgresql+psycopg://"), 0.2
    )
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with psycopg.connect(pg_database, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.3)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    assert len(pings) == 1
    engine.dispose()


def _pg_app(url: str, instance):
    config = grader_config.TestConfig(url, instance)
    config.GRADER_EXERCISES_DIR = ROOT / "exercises"
    config.SQLALCHEMY_ENGINE_OPTIONS = resilience.engine_options(config.SQLALCHEMY_DATABASE_URI)
    app = create_app(config)
    resilience.init_app(app)
    return app


def _hammer(app, token: str, stop: threading.Event, log: list, name: str) -> None:
    client = app.test_client()
    while not stop.is_set():
        key = uuid.uuid4().hex
        started = time.monotonic()
        response = client.post(
            SUBMIT_URL,
            json={"user": name, "answers": ANSWERS},
            headers=auth(token) | {"Idempotency-Key": key},
        )
        log.append(
            (
                time.monotonic(),
                time.monotonic() - started,
                key,
                response.status_code,
                response.headers.get("Retry-After"),
                response.mimetype,
                response.get_json(silent=True) or {},
            )
        )
        time.sleep(0.02)


@pytest.mark.parametrize("outage", ["refused", "blackhole"])
def test_postgresql_outage_under_load(pg_database, tmp_path, outage):
    from grader.services.exercises import import_exercises
    from grader.services.users import create_token

    host_port = pg_database.split("@", 1)[1].split("/", 1)[0]
    proxy = TcpProxy(host_port.split(":")[0], int(host_port.split(":")[1])).start()
    proxied = pg_database.replace(host_port, f"127.0.0.1:{proxy.port}")
    app = _pg_app(proxied, tmp_path / "instance")
    try:
        with app.app_context():
            upgrade()
            import_exercises([ROOT / "exercises"])
            token = create_token("load", ("submit", "read:scores"))[1]
        log: list = []
        stop = threading.Event()
        threads = [
            threading.Thread(target=_hammer, args=(app, token, stop, log, f"u{i}"))
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        cut = time.monotonic()
        proxy.stop() if outage == "refused" else proxy.blackhole()
        time.sleep(4)
        proxy.start()
        back = time.monotonic()
        time.sleep(4)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads), "a client hung"

        statuses = {entry[3] for entry in log}
        assert statuses <= {201, 503}, statuses
        during = [e for e in log if cut + 0.5 < e[0] < back]
        assert any(e[3] == 503 for e in during), "the outage was not noticed"
        for _t, _elapsed, _key, status, retry_after, mimetype, body in log:
            if status == 503:
                assert retry_after == "5" and mimetype == "application/problem+json"
                assert body["status"] == 503
        assert max(e[1] for e in log) < 10, "a request waited too long on the database"
        assert any(e[3] == 201 and e[0] > back + 1 for e in log), "the service did not recover"

        acknowledged = {e[2]: e[6] for e in log if e[3] == 201}
        with app.app_context():
            rows = db.session.execute(
                select(Submission.idempotency_key, Submission.id, Submission.score)
            ).all()
        keys = [row[0] for row in rows]
        assert len(keys) == len(set(keys))
        stored = {row[0]: (row[1], row[2]) for row in rows}
        for key, body in acknowledged.items():
            assert stored[key] == (body["id"], body["score"])
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        proxy.close()
