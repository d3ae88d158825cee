"""Bodies an outside client can send that must be refused with a problem, never a 500: JSON
nested too deep, a body over the limit sent chunked."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from grader.bodies import MAX_JSON_DEPTH, json_depth_exceeds
from tests.api.helpers import SUBMIT_URL, auth, is_problem
from tests.conftest import EXERCISES


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _parts() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(EXERCISES.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        for part in spec["parts"]:
            found.append((spec["slug"], part["id"], part["kind"]))
    return found


@pytest.mark.parametrize(("slug", "part", "kind"), _parts(), ids=lambda v: str(v))
def test_an_answer_nested_400_deep_is_a_400_problem_in_every_kind(
    imported, client, make_token, caplog, slug, part, kind
):
    """854 bytes nested 400 deep made a check of the answer recurse past Python's limit: a 500
    and a 113 KB traceback in the log per request."""
    token = make_token()
    body = json.dumps({"user": "deep", "answers": {part: "@"}}).replace('"@"', _deep(400))
    response = client.post(
        f"/api/v1/exercises/{slug}/submissions",
        data=body,
        content_type="application/json",
        headers=auth(token),
    )
    assert is_problem(response, 400, "json-too-deep"), (kind, response.status_code)
    assert str(MAX_JSON_DEPTH) in response.json["detail"]
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_json_deeper_than_python_can_parse_is_a_400_problem(imported, client, make_token):
    token = make_token()
    body = '{"user": "deep", "answers": {"shape": ' + _deep(100_000) + "}}"
    response = client.post(
        SUBMIT_URL, data=body, content_type="application/json", headers=auth(token)
    )
    assert is_problem(response, 413) or is_problem(response, 400, "json-too-deep")


def test_an_answer_at_the_depth_limit_is_read_as_an_answer(imported, client, make_token):
    """The bound refuses nothing a client can legitimately send: at the limit, the answer goes
    on to be graded (a wrong answer, not a refused body)."""
    token = make_token()
    body = '{"user": "deep", "answers": {"shape": ' + _deep(MAX_JSON_DEPTH - 2) + "}}"
    response = client.post(
        SUBMIT_URL, data=body, content_type="application/json", headers=auth(token)
    )
    assert response.status_code != 400 and response.status_code < 500


def test_the_web_preview_refuses_deep_json_too(imported, client):
    from grader.services.users import create_user

    with imported.app_context():
        create_user("deep@example.org", "student", "password123")
    client.post("/login", data={"email": "deep@example.org", "password": "password123"})
    body = '{"part": "shape", "answer": ' + _deep(400) + "}"
    response = client.post(
        "/exercises/jacobian-shape/preview", data=body, content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("text", "deeper_than_3"),
    [
        (b"[[[]]]", False),
        (b"[[[[]]]]", True),
        (b'{"a": {"b": {"c": {"d": 1}}}}', True),
        (b'{"a": "[[[[[[[[[[[[[[["}', False),  # brackets in a string do not count
        (b'{"a": "\\"[[[[[[[[["}', False),  # nor after an escaped quote
        (b"[1, [2, [3]], [4, [5]], [6]]", False),  # many brackets, shallow
        (b"[[[[", True),  # not JSON: refused either way
    ],
)
def test_json_depth_is_measured_without_parsing(text, deeper_than_3):
    assert json_depth_exceeds(text, 3) is deeper_than_3


def test_a_body_over_the_limit_sent_chunked_is_413(imported, client, make_token):
    """Sent chunked (no Content-Length), the body was cut at the limit and refused as
    malformed JSON (400)."""
    token = make_token()
    body = b'{"user": "big", "answers": {"shape": "' + b"x" * 300_000 + b'"}}'
    response = client.post(
        SUBMIT_URL,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers=auth(token) | {"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert is_problem(response, 413, "request-entity-too-large")


def test_a_body_under_the_limit_sent_chunked_is_read_whole(imported, client, make_token):
    token = make_token()
    body = json.dumps({"user": "chunked", "answers": {"shape": "n×m"}}).encode()
    response = client.post(
        SUBMIT_URL,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers=auth(token) | {"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 201 and response.json["user"] == "chunked"
