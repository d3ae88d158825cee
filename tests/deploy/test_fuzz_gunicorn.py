"""schemathesis against the app as deployed: gunicorn with 2 workers of 2 threads, requests
over HTTP. Positive and negative phases on every operation and stateful chains along the
OpenAPI links: no server error, no response that breaks the document, whichever worker
answers (tests/api/test_openapi.py runs the same in-process)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode

from grader.services.users import create_token
from tests.api.fuzzing import fuzz_config, fuzz_every_operation, run_stateful
from tests.api.helpers import ANSWERS, SUBMIT_URL
from tests.api.test_openapi import (
    EXPECTED_OPERATIONS,
    assert_followed_links,
    assert_got_through,
    token_id,
)
from tests.deploy.conftest import serve_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app under gunicorn (2 workers, 2 threads), an admin token and one submission."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    for base, _token, _log, _process, app in serve_app(tmp_path, workers=2, threads=2):
        with app.app_context():
            admin = create_token("fuzz", ("admin",))[1]
        created = httpx.post(
            base + SUBMIT_URL,
            json={"user": "u", "answers": ANSWERS},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield base, admin, app


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_phases_against_gunicorn(served, mode):
    base, token, _app = served
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json", config=fuzz_config(token))
    statuses = fuzz_every_operation(schema, mode, max_examples=30, base_url=base)
    assert len(statuses) == len(EXPECTED_OPERATIONS)
    if mode == GenerationMode.POSITIVE:
        assert_got_through(statuses)


def test_stateful_phase_against_gunicorn(served):
    base, token, app = served
    config = fuzz_config(
        token, {"generation": {"mode": "positive"}}, ignored_auth={"enabled": False}
    )
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json", config=config)
    # 40 chains: with the webhook links, 25 derandomized chains no longer reached a
    # submission's read-back over HTTP.
    steps = run_stateful(schema, token, token_id(app, token), max_examples=40, base_url=base)
    assert_followed_links(steps)
