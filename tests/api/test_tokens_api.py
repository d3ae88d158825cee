"""The admin token routes: create, list, revoke; secrets stored as SHA-256 only."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from grader.extensions import db
from grader.models import ApiToken
from tests.api.helpers import auth, is_problem


@pytest.fixture()
def admin(app, make_token):
    return make_token("admin")


def test_create_list_use_and_revoke(app, client, admin):
    created = client.post(
        "/api/v1/tokens", json={"name": "moodle", "scopes": ["read:scores"]}, headers=auth(admin)
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["name"] == "moodle" and body["scopes"] == ["read:scores"]
    assert body["token"].startswith("bpg_") and body["revoked_at"] is None
    with app.app_context():
        row = db.session.get(ApiToken, body["id"])
        assert row.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
        assert body["token"] not in repr(row.__dict__)  # only the hash is stored

    assert client.get("/api/v1/exercises", headers=auth(body["token"])).status_code == 200
    listing = client.get("/api/v1/tokens", headers=auth(admin)).json
    entry = next(item for item in listing["items"] if item["id"] == body["id"])
    assert entry["last_used_at"] is not None and "token" not in entry
    assert all("token_hash" not in item for item in listing["items"])

    revoked = client.delete(f"/api/v1/tokens/{body['id']}", headers=auth(admin))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    again = client.delete(f"/api/v1/tokens/{body['id']}", headers=auth(admin))
    assert again.json["revoked_at"] == revoked.json["revoked_at"]
    assert is_problem(client.get("/api/v1/exercises", headers=auth(body["token"])), 401)


def test_default_scopes(client, admin):
    body = client.post("/api/v1/tokens", json={"name": "lms"}, headers=auth(admin)).json
    assert body["scopes"] == ["read:scores", "submit"]


def test_token_routes_need_admin(client, make_token):
    token = make_token("submit", "read:scores")
    assert is_problem(client.get("/api/v1/tokens", headers=auth(token)), 403, "insufficient-scope")
    assert is_problem(client.post("/api/v1/tokens", json={"name": "x"}, headers=auth(token)), 403)
    assert is_problem(client.delete("/api/v1/tokens/1", headers=auth(token)), 403)
    assert is_problem(client.get("/api/v1/tokens"), 401)


@pytest.mark.parametrize(
    "body,kind",
    [
        ({"name": ""}, "invalid-name"),
        ({"name": "x", "scopes": ["root"]}, "invalid-scopes"),
        ({"name": "x", "scopes": []}, "invalid-scopes"),
        ({"name": "x", "expires": 3}, "unknown-field"),
        ({}, "invalid-name"),
    ],
)
def test_bad_token_requests_are_422(app, client, admin, body, kind):
    assert is_problem(client.post("/api/v1/tokens", json=body, headers=auth(admin)), 422, kind)
    with app.app_context():
        assert len(db.session.scalars(select(ApiToken)).all()) == 1  # only the admin's


def test_revoking_an_unknown_token_is_404(client, admin):
    assert is_problem(
        client.delete("/api/v1/tokens/999", headers=auth(admin)), 404, "token-not-found"
    )
    assert is_problem(client.delete(f"/api/v1/tokens/{2**40}", headers=auth(admin)), 404)


def test_token_list_pages(client, admin):
    for index in range(4):
        client.post("/api/v1/tokens", json={"name": f"t{index}"}, headers=auth(admin))
    url, names = "/api/v1/tokens?limit=2", []
    while url:
        page = client.get(url, headers=auth(admin)).json
        names += [item["name"] for item in page["items"]]
        url = page["links"]["next"]
    assert names == ["t3", "t2", "t1", "t0", "test"]
    assert is_problem(
        client.get("/api/v1/tokens?cursor=eHk", headers=auth(admin)), 400, "invalid-cursor"
    )


def test_an_expired_token_is_refused(app, client, imported):
    from datetime import timedelta

    from grader.extensions import db
    from grader.models import ApiToken, utcnow
    from grader.services.users import create_token

    with app.app_context():
        row, secret = create_token(
            "short", ("read:scores",), expires_at=utcnow() + timedelta(hours=1)
        )
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/exercises", headers=headers).status_code == 200
        db.session.get(ApiToken, row.id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get("/api/v1/exercises", headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_same_lms_user_id_from_two_issuers_is_two_users(app, client, imported):
    from grader.services.users import create_token

    with app.app_context():
        secrets = [
            create_token(f"lms-{n}", ("submit", "read:scores"), issuer=f"api:lms-{n}")[1]
            for n in (1, 2)
        ]
    answers = {"shape": "n, m"}
    users = set()
    for secret in secrets:
        response = client.post(
            "/api/v1/exercises/jacobian-shape/submissions",
            json={"user": "42", "answers": answers},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status_code == 201, response.get_json()
        users.add(response.get_json()["id"])
    from grader.extensions import db
    from grader.models import User

    with app.app_context():
        rows = db.session.scalars(db.select(User).where(User.external_id == "42")).all()
        assert sorted(u.issuer for u in rows) == ["api:lms-1", "api:lms-2"]
