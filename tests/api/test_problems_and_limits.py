"""Problem details for every API error (including Flask's own) and per-token rate limits."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from grader import config as grader_config
from grader import create_app
from grader.extensions import db
from tests.api.helpers import SUBMIT_URL, auth, is_problem


@pytest.fixture()
def limited_app(database_url, tmp_path):
    """An app whose API allows 3 requests a minute per token."""
    config = grader_config.TestConfig(database_url, tmp_path / "instance")
    config.GRADER_API_RATE_LIMIT = "3/minute"
    app = create_app(config)
    with app.app_context():
        if database_url.startswith("sqlite"):
            upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(app, *scopes):
    from grader.services.users import create_token

    with app.app_context():
        return create_token("limited", scopes or ("read:scores",))[1]


def test_over_the_limit_is_429_problem_with_retry_after(limited_app):
    client = limited_app.test_client()
    first, second = _token(limited_app), _token(limited_app)
    for _ in range(3):
        assert client.get("/api/v1/exercises", headers=auth(first)).status_code == 200
    response = client.get("/api/v1/exercises", headers=auth(first))
    assert is_problem(response, 429, "too-many-requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "retry in" in response.json["detail"]
    # The limit is per token: another token still has its own budget.
    assert client.get("/api/v1/exercises", headers=auth(second)).status_code == 200


def test_requests_without_a_valid_token_share_the_address_budget(limited_app):
    client = limited_app.test_client()
    for index in range(3):
        assert is_problem(client.get("/api/v1/exercises", headers=auth(f"bpg_fake{index}")), 401)
    assert is_problem(client.get("/api/v1/exercises", headers=auth("bpg_other")), 429)


def test_limit_zero_turns_limits_off(imported, client, make_token):
    token = make_token()
    for _ in range(30):
        response = client.get("/api/v1/exercises", headers=auth(token))
        assert response.status_code == 200 and "Retry-After" not in response.headers


@pytest.mark.parametrize(
    "method,url,status,kind",
    [
        ("get", "/api/v1/nowhere", 404, "not-found"),
        ("delete", "/api/v1/exercises", 405, "method-not-allowed"),
        ("put", "/api/v1/scores", 405, "method-not-allowed"),
        ("get", "/api/v1/submissions/abc", 404, "not-found"),
    ],
)
def test_flask_errors_are_problems(client, method, url, status, kind):
    assert is_problem(getattr(client, method)(url), status, kind)


def test_405_names_the_allowed_methods(client):
    response = client.delete("/api/v1/scores")
    assert "GET" in response.headers["Allow"]


def test_413_is_a_problem_on_every_body_route(imported, client, make_token):
    token = make_token("admin")
    for url in (SUBMIT_URL, "/api/v1/exercises/jacobian-shape/preview", "/api/v1/tokens"):
        response = client.post(
            url,
            data="[" + "1," * 200_000 + "1]",
            content_type="application/json",
            headers=auth(token),
        )
        assert is_problem(response, 413, "request-entity-too-large"), url


@pytest.mark.parametrize(
    "data,content_type,status,kind",
    [
        ("user=u", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
        ("{}", "text/plain", 415, "unsupported-media-type"),
        ("{", "application/json", 400, "malformed-json"),
        ("[1, 2]", "application/json", 400, "malformed-json"),
        ('"text"', "application/json", 400, "malformed-json"),
    ],
)
def test_bodies_that_are_not_json_objects(
    imported, client, make_token, data, content_type, status, kind
):
    response = client.post(
        SUBMIT_URL, data=data, content_type=content_type, headers=auth(make_token())
    )
    assert is_problem(response, status, kind)


def test_unexpected_errors_are_500_problems_without_internals(
    imported, client, make_token, monkeypatch
):
    import grader.api.routes as routes

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(routes, "list_current_versions", broken)
    response = client.get("/api/v1/exercises", headers=auth(make_token()))
    assert is_problem(response, 500, "internal-error")
    assert "secret" not in response.get_data(as_text=True)


def test_web_pages_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_retry_after_comes_only_with_a_429(limited_app):
    """Flask-Limiter's headers put Retry-After on every response (200, 201, 401): a client
    that honours it waited after every request."""
    from grader.services.exercises import import_exercises
    from tests.conftest import EXERCISES

    with limited_app.app_context():
        import_exercises([EXERCISES / "jacobian-shape.yaml"])
    client = limited_app.test_client()
    token = _token(limited_app, "submit", "read:scores")
    ok = client.get("/api/v1/exercises", headers=auth(token))
    created = client.post(
        SUBMIT_URL, json={"user": "u1", "answers": {"shape": "n×m"}}, headers=auth(token)
    )
    refused = client.get("/api/v1/exercises", headers=auth("bpg_unknown"))
    assert (ok.status_code, created.status_code, refused.status_code) == (200, 201, 401)
    for response in (ok, created, refused):
        assert "Retry-After" not in response.headers, response.status_code
    client.get("/api/v1/exercises", headers=auth(token))
    over = client.get("/api/v1/exercises", headers=auth(token))
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1


def test_every_limited_response_says_where_the_client_stands(limited_app):
    """The IETF RateLimit and RateLimit-Policy fields, and the X-RateLimit-* ones."""
    client = limited_app.test_client()
    token = _token(limited_app)
    first = client.get("/api/v1/exercises", headers=auth(token))
    second = client.get("/api/v1/exercises", headers=auth(token))
    assert first.headers["RateLimit-Policy"] == '"api";q=3;w=60'
    assert first.headers["RateLimit"].startswith('"api";r=2;t=')
    assert 0 <= int(first.headers["RateLimit"].rpartition("t=")[2]) <= 60
    assert second.headers["RateLimit"].startswith('"api";r=1;t=')
    assert second.headers["X-RateLimit-Limit"] == "3"
    assert second.headers["X-RateLimit-Remaining"] == "1"
    client.get("/api/v1/exercises", headers=auth(token))
    over = client.get("/api/v1/exercises", headers=auth(token))
    assert over.status_code == 429 and over.headers["RateLimit"].startswith('"api";r=0;t=')


def test_one_budget_covers_every_operation_of_a_token(limited_app):
    """Each view had a budget of its own: 3 a minute meant 3 per operation."""
    client = limited_app.test_client()
    token = _token(limited_app, "submit", "read:scores")
    assert client.get("/api/v1/exercises", headers=auth(token)).status_code == 200
    assert client.get("/api/v1/scores", headers=auth(token)).status_code == 200
    assert client.get("/api/v1/exercises/nope", headers=auth(token)).status_code == 404
    assert is_problem(client.get("/api/v1/scores", headers=auth(token)), 429)


def test_behind_a_proxy_the_address_budget_is_the_clients(database_url, tmp_path):
    """With GRADER_PROXY_HOPS=1 (nginx in front) requests without a valid token are counted
    per client address as the proxy saw it, not all under the proxy's own address; an address
    the client wrote itself in X-Forwarded-For does not give it a new budget."""
    config = grader_config.TestConfig(database_url, tmp_path / "instance")
    config.GRADER_API_RATE_LIMIT = "2/minute"
    config.GRADER_PROXY_HOPS = 1
    app = create_app(config)
    with app.app_context():
        if database_url.startswith("sqlite"):
            upgrade()
    client = app.test_client()

    def get(forwarded_for: str):
        return client.get("/api/v1/exercises", headers={"X-Forwarded-For": forwarded_for})

    assert [get("10.0.0.1").status_code for _ in range(3)] == [401, 401, 429]
    assert get("10.0.0.2").status_code == 401  # another client: its own budget
    assert get("6.6.6.6, 10.0.0.1").status_code == 429  # nginx appends the real address
    with app.app_context():
        db.engine.dispose()


def test_with_its_redis_away_the_limit_is_counted_in_memory_not_failed(database_url, tmp_path):
    """Redis for the counts that does not answer: requests go on (200, still limited per
    process), not 500s."""
    from tests.deploy.conftest import free_port

    config = grader_config.TestConfig(database_url, tmp_path / "instance")
    config.GRADER_API_RATE_LIMIT = "2/minute"
    config.RATELIMIT_STORAGE_URI = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    app = create_app(config)
    with app.app_context():
        if database_url.startswith("sqlite"):
            upgrade()
    token = _token(app)
    client = app.test_client()
    statuses = [client.get("/api/v1/exercises", headers=auth(token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    with app.app_context():
        db.engine.dispose()
