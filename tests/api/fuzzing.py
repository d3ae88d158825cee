"""schemathesis runs shared by the in-process tests (tests/api/test_openapi.py) and the ones
against gunicorn (tests/deploy/test_fuzz_gunicorn.py): every operation in the positive and
negative phases, and stateful sequences along the OpenAPI links."""

from __future__ import annotations

import os
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.api.helpers import ANSWERS

# Schema-valid requests the API still refuses on their meaning: a cursor it did not issue
# (400), answers naming parts the exercise lacks or a user id with odd characters (422).
# The same cases on every run, so CI is reproducible; GRADER_FUZZ_RANDOM=1 explores new ones.
DERANDOMIZE = os.environ.get("GRADER_FUZZ_RANDOM") != "1"
SLUG = "jacobian-shape"


def fuzz_config(token: str, extra: dict | None = None, **checks: dict) -> SchemathesisConfig:
    """Return the fuzzer's settings: the admin token for the bearer scheme, expectations."""
    return SchemathesisConfig.from_dict(
        {
            **(extra or {}),
            "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "422", "429"]
                },
                **checks,
            },
        }
    )


def _fuzz(strategy, seen: set[int], max_examples: int, **call: Any) -> None:
    """Run schemathesis' cases of one operation, recording the status codes in ``seen``."""

    @given(case=strategy)
    @settings(
        max_examples=max_examples,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        seen.add(case.call_and_validate(**call).status_code)

    run()


def fuzz_every_operation(
    schema, mode: GenerationMode, max_examples: int = 50, **call: Any
) -> dict[str, set[int]]:
    """Fuzz every operation of ``schema`` in ``mode`` (DELETE last: revoking a token may revoke
    the fuzzer's own); return the status codes seen per operation. Raises on a failed check."""
    statuses: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        # A random slug only finds 404s; the real one reaches validation and grading.
        # A random course only finds 404s too: the default course assigns the slug.
        fixed = {
            name: value
            for name, value in (("slug", SLUG), ("course", "default"))
            if "{" + name + "}" in operation.path
        } or None
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
        _fuzz(strategy, statuses.setdefault(operation.label, set()), max_examples, **call)
    return statuses


def run_stateful(
    schema, token: str, own_token_id: int, max_examples: int = 25, **call: Any
) -> list[tuple[str, int]]:
    """Run chains of calls along the OpenAPI links; return (operation, status) of each step.

    The chains test the links, not the validation of answers (the stateless phases fuzz
    that): a submission's body is made valid, so that every submission the machine makes is
    stored and its links lead somewhere. Never revokes the fuzzer's own token.
    """
    machine = schema.as_state_machine()
    steps: list[tuple[str, int]] = []
    headers = {"Authorization": f"Bearer {token}"}

    class Recording(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            parameters = case.path_parameters or {}
            # A real slug: a random one only finds 404s and no link is ever followed.
            if "slug" in parameters:
                parameters["slug"] = SLUG
            if "course" in parameters:
                parameters["course"] = "default"
            # Never revoke the fuzzer's own token: every later call would be a 401.
            if parameters.get("token_id") == own_token_id:
                parameters["token_id"] = own_token_id + 10_000
            if case.operation.label.startswith("POST") and case.path.endswith("/submissions"):
                case.body = {"user": f"fuzz-{uuid.uuid4().hex[:8]}", "answers": ANSWERS}
            # A key reused by a later example (the database outlives each one) would turn a
            # 201 into a 200 replay, so the same choices would follow different links: keys
            # are made unique; replays are the stateless runs' and tests/api's business.
            if case.headers and "Idempotency-Key" in case.headers:
                case.headers["Idempotency-Key"] = uuid.uuid4().hex
            # The state machine does not apply the configured auth itself.
            return {"headers": headers, **call}

        def after_call(self, response, case):
            steps.append((case.operation.label, response.status_code))
            super().after_call(response, case)

    Recording.run(
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=6,
            derandomize=DERANDOMIZE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    return steps
