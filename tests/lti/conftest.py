"""Fixtures of the LTI tests: the tool served over HTTP (the platform fetches its JWKS), the
Open edX platform of ``tests.lti.platform`` served beside it and registered, and a helper that
runs a launch through the browser's steps with the test client."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.lti.oidc import forget_platform_keys
from grader.lti.platform import forget_tokens
from grader.lti.registry import register
from tests.conftest import EXERCISES
from tests.lti.platform import Platform, serve
from tests.threaded_server import serve_in_thread


@pytest.fixture()
def tool(app: Flask) -> Iterator[str]:
    """Serve ``app`` (with ``jacobian-shape``) on 127.0.0.1; return its base URL."""
    from grader.services.exercises import import_exercises

    app.config["LTI_JWKS_COOLDOWN"] = 0.0
    with app.app_context():
        import_exercises([EXERCISES / "jacobian-shape.yaml"])
    forget_platform_keys()
    forget_tokens()
    with serve_in_thread(app) as base_url:
        yield base_url
    forget_platform_keys()
    forget_tokens()


@pytest.fixture()
def platform(app: Flask, tool: str) -> Iterator[Platform]:
    """The Open edX platform, served and registered with the tool."""
    with serve(Platform(tool=tool)) as lms:
        with app.app_context():
            register(
                lms.issuer,
                lms.client_id,
                lms.deployment_id,
                lms.auth_url,
                lms.token_url,
                lms.jwks_url,
            )
        yield lms


def login_step(client: FlaskClient, preflight: str) -> dict[str, str]:
    """Open the tool's login URL as the browser does; return the auth request's parameters."""
    parts = urlsplit(preflight)
    response = client.get(parts.path + "?" + parts.query)
    assert response.status_code == 302, response.get_data(as_text=True)
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))


def launch(client: FlaskClient, lms: Platform, **kwargs):
    """Run a whole launch (login, the platform's answer, the form post); return the response
    of ``POST /lti/launch``."""
    auth = login_step(client, lms.prepare_launch(**kwargs))
    return client.post("/lti/launch", data=lms.launch_form(auth))
