"""Liveness and readiness probes."""

from sqlalchemy.exc import OperationalError

from grader.extensions import db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_when_database_answers(client):
    assert client.get("/readyz").json == {"status": "ready"}


def test_readyz_is_503_with_retry_after_when_database_fails(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("down"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
