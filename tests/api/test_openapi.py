"""The OpenAPI document: valid 3.1, complete, served with a readable page; and schemathesis
fuzzing every operation against it (no 500s, no response that breaks the document)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from openapi_spec_validator import validate
from schemathesis import GenerationMode

from grader.api.schemas import PART_ID
from tests.api.fuzzing import fuzz_config, fuzz_every_operation, run_stateful
from tests.api.helpers import ANSWERS, RESULT_FIELDS, SUBMIT_URL, auth, is_problem

EXPECTED_OPERATIONS = {
    ("get", "/api/v1/exercises"),
    ("get", "/api/v1/exercises/{slug}"),
    ("post", "/api/v1/exercises/{slug}/preview"),
    ("post", "/api/v1/exercises/{slug}/submissions"),
    ("get", "/api/v1/submissions/{submission_id}"),
    ("get", "/api/v1/submissions"),
    ("get", "/api/v1/scores"),
    ("get", "/api/v1/scores.csv"),
    ("post", "/api/v1/tokens"),
    ("get", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{token_id}"),
    ("get", "/api/v1/courses"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("delete", "/api/v1/webhooks/{webhook_id}"),
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"),
    ("post", "/api/v1/webhooks/{webhook_id}/deliveries/{event_id}/redeliver"),
    # The same routes in a course named in the URL (DESIGN section 9).
    ("get", "/api/v1/courses/{course}/exercises"),
    ("get", "/api/v1/courses/{course}/exercises/{slug}"),
    ("post", "/api/v1/courses/{course}/exercises/{slug}/preview"),
    ("post", "/api/v1/courses/{course}/exercises/{slug}/submissions"),
    ("get", "/api/v1/courses/{course}/submissions/{submission_id}"),
    ("get", "/api/v1/courses/{course}/submissions"),
    ("get", "/api/v1/courses/{course}/scores"),
    ("get", "/api/v1/courses/{course}/scores.csv"),
    ("post", "/api/v1/courses/{course}/webhooks"),
    ("get", "/api/v1/courses/{course}/webhooks"),
    ("delete", "/api/v1/courses/{course}/webhooks/{webhook_id}"),
    ("get", "/api/v1/courses/{course}/webhooks/{webhook_id}/deliveries"),
    ("post", "/api/v1/courses/{course}/webhooks/{webhook_id}/deliveries/{event_id}/redeliver"),
}


def test_document_is_valid_openapi_3_1_and_complete(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # openapi-spec-validator, OpenAPI 3.1 rules
    operations = {(m, p) for p, item in doc["paths"].items() for m in item}
    assert operations == EXPECTED_OPERATIONS
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) and "create_submission" in ids
    submit = doc["paths"]["/api/v1/exercises/{slug}/submissions"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in submit["parameters"])
    assert "application/problem+json" in submit["responses"]["422"]["content"]
    assert "Retry-After" in submit["responses"]["429"]["headers"]
    assert "Retry-After" in submit["responses"]["503"]["headers"]
    for item in doc["paths"].values():
        for operation in item.values():
            for code, declared in operation["responses"].items():
                headers = declared.get("headers", {})
                assert {"RateLimit", "RateLimit-Policy"} <= set(headers), code
                assert ("Retry-After" in headers) == (code in ("429", "503")), code
    scores = doc["paths"]["/api/v1/scores"]["get"]["responses"]["200"]["content"]
    assert set(scores) == {"application/json", "text/csv"}
    result = doc["components"]["schemas"]["Result"]
    assert set(result["properties"]) == RESULT_FIELDS
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def _times(schema, path=""):
    """Yield (path, schema) of every property whose name says it is a time."""
    if isinstance(schema, dict):
        for name, value in schema.get("properties", {}).items():
            if name.endswith("_at") or name in ("since", "until", "updated_since"):
                yield f"{path}.{name}", value
        for key, value in schema.items():
            yield from _times(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _times(value, f"{path}[{index}]")


def test_document_declares_what_the_server_enforces(client):
    """Location on 201/202, a date-time format on every time, enums for statuses and kinds,
    the answers' limits, a scope per operation, CSV as its own operation, open responses."""
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    submit = doc["paths"]["/api/v1/exercises/{slug}/submissions"]["post"]["responses"]
    for code in ("200", "201", "202"):
        assert submit[code]["headers"]["Location"]["required"] is True
    times = list(_times(doc))
    assert len(times) > 8
    for where, schema in times:
        options = schema.get("anyOf", [schema])
        assert any(o.get("format") == "date-time" for o in options), where
    for parameter in doc["paths"]["/api/v1/scores"]["get"]["parameters"]:
        if parameter["name"] in ("since", "until", "updated_since"):
            assert parameter["schema"]["format"] == "date-time"
    assert set(schemas["Result"]["properties"]["status"]["enum"]) == {
        "queued",
        "graded",
        "error",
        "needs_review",
    }
    part_status = schemas["PartOutcome"]["properties"]["status"]["anyOf"][0]
    assert set(part_status["enum"]) == {"queued", "graded", "error", "needs_review"}
    assert "code" in schemas["PartSummary"]["properties"]["kind"]["enum"]
    parts = schemas["ExerciseDetail"]["properties"]["parts"]["items"]
    assert parts["discriminator"]["propertyName"] == "kind"
    assert "ChoiceOption" in json.dumps(schemas["ChoicePart"])
    answers = schemas["SubmissionRequest"]["properties"]["answers"]
    assert answers["propertyNames"]["pattern"] == PART_ID
    answer = next(iter(answers["patternProperties"].values()))
    assert {"type": "string", "maxLength": 100_000} in answer["anyOf"]
    assert "100,000 characters" in answers["description"]
    scopes = {
        (method, path): operation["security"]
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }
    assert scopes[("post", "/api/v1/exercises/{slug}/submissions")] == [{"bearerAuth": ["submit"]}]
    assert scopes[("get", "/api/v1/submissions")] == [{"bearerAuth": ["read:scores"]}]
    assert scopes[("get", "/api/v1/courses/{course}/scores")] == [{"bearerAuth": ["read:scores"]}]
    assert scopes[("post", "/api/v1/courses/{course}/exercises/{slug}/submissions")] == [
        {"bearerAuth": ["submit"]}
    ]
    assert scopes[("delete", "/api/v1/tokens/{token_id}")] == [{"bearerAuth": ["admin"]}]
    for path in ("/api/v1/scores.csv", "/api/v1/courses/{course}/scores.csv"):
        export = doc["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(export) == {"text/csv"}, path
    for name in ("Result", "ScorePage", "ScoreRow", "SubmissionPage", "TokenInfo", "Links"):
        assert "additionalProperties" not in schemas[name], name
    assert schemas["SubmissionRequest"]["additionalProperties"] is False
    assert "responses may gain new fields" in doc["info"]["description"]


def test_the_declared_answer_limit_is_the_enforced_one(imported, client, make_token):
    """100,000 characters pass the size check (the kind then reads them), 100,001 do not; a
    list counts as compact JSON."""
    headers = auth(make_token())
    for part, answer, kind in (
        ("shape", "n" * 100_000, "unreadable-answer"),
        ("shape", "n" * 100_001, "invalid-answers"),
        ("vector_or_matrix", ["x" * 150] * 600, None),  # 91,201 characters as JSON
        ("vector_or_matrix", ["x" * 150] * 700, "invalid-answers"),
    ):
        response = client.post(
            SUBMIT_URL, json={"user": "big", "answers": {part: answer}}, headers=headers
        )
        if kind is None:
            assert response.json.get("type", "").rpartition("/")[2] != "invalid-answers"
        else:
            assert is_problem(response, 422, kind), response.json
    refused = client.post(
        SUBMIT_URL, json={"user": "big", "answers": {"1bad": "n"}}, headers=headers
    )
    assert is_problem(refused, 422)


def test_csv_export_is_its_own_operation(imported, client, make_token):
    headers = auth(make_token())
    client.post(SUBMIT_URL, json={"user": "+cmd", "answers": ANSWERS}, headers=headers)
    export = client.get("/api/v1/scores.csv?exercise=jacobian-shape", headers=headers)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.get_data(as_text=True).splitlines()[1].startswith("'+cmd,jacobian-shape,")
    negotiated = client.get("/api/v1/scores", headers=headers | {"Accept": "text/csv"})
    assert negotiated.get_data() == export.get_data()


def test_docs_page_lists_every_operation_without_scripts(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<script" not in html and "http://" not in html.replace("http://localhost", "")
    assert "https://" not in html.split("<body>")[1].replace("https://backprop-grader.invalid", "")
    for operation_id in ("create_submission", "list_scores", "revoke_api_token", "preview"):
        assert f'id="{operation_id}"' in html
    assert "Idempotency-Key" in html


@pytest.mark.parametrize("checked", [True, False])
def test_responses_are_checked_against_the_schema_where_asked(
    imported, client, make_token, monkeypatch, checked
):
    """With GRADER_VALIDATE_RESPONSES (the test suite's setting), a view returning a body that
    breaks its response model is caught (500), not sent; without it (production's default)
    the body goes out as the view made it, unparsed."""
    import grader.api.routes as routes

    imported.config["GRADER_VALIDATE_RESPONSES"] = checked
    monkeypatch.setattr(routes, "result_object", lambda s, *_: {"id": s.id})
    response = client.post(
        SUBMIT_URL, json={"user": "u", "answers": ANSWERS}, headers=auth(make_token())
    )
    if checked:
        assert response.status_code == 500
    else:
        assert response.status_code == 201
        assert set(response.json) == {"id"}
        assert response.headers["Location"].endswith(f"/submissions/{response.json['id']}")


# ---------------------------------------------------------------- schemathesis


@pytest.fixture()
def fuzz_app(imported, make_token):
    """The app with exercises, an admin token and one stored submission (id 1)."""
    token = make_token("admin")
    client = imported.test_client()
    response = client.post(SUBMIT_URL, json={"user": "u", "answers": ANSWERS}, headers=auth(token))
    assert response.status_code == 201
    return imported, token


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_errors_or_schema_violations(fuzz_app, mode):
    app, token = fuzz_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=fuzz_config(token))
    statuses = fuzz_every_operation(schema, mode)
    assert len(statuses) == len(EXPECTED_OPERATIONS)
    if mode == GenerationMode.POSITIVE:  # the fuzzer got past authentication and validation
        assert_got_through(statuses)


def assert_got_through(statuses: dict[str, set[int]]) -> None:
    """Every operation but preview (few kinds preview), DELETE (it revokes tokens that the
    fuzzer does not know) and redeliver (a random event id names no event) had a 2xx in the
    positive phase."""
    succeeded = {label for label, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
    skipped = ("preview", "DELETE", "redeliver")
    expected = {label for label in statuses if not any(word in label for word in skipped)}
    assert expected <= succeeded, statuses


def test_links_connect_submissions_to_their_results(client):
    document = client.get("/api/v1/openapi.json").json
    created = document["paths"]["/api/v1/exercises/{slug}/submissions"]["post"]["responses"]
    link = created["201"]["links"]["GetSubmission"]
    assert link == {
        "operationId": "get_submission",
        "parameters": {"submission_id": "$response.body#/id"},
        "description": link["description"],
    }


def test_stateful_sequences_follow_the_links_without_errors(fuzz_app):
    """Chains of calls along the OpenAPI links (submit -> read back -> scores; create a token
    -> revoke it): no server error and no response that breaks the schema."""
    app, token = fuzz_app
    # The sequences send the admin token themselves; missing and wrong tokens are the
    # stateless runs' and tests/api's business, so the auth-probing check is off here.
    config = fuzz_config(
        token, {"generation": {"mode": "positive"}}, ignored_auth={"enabled": False}
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    steps = run_stateful(schema, token, token_id(app, token))
    assert_followed_links(steps)


def token_id(app, token: str) -> int:
    """Return the row id of the API token ``token``."""
    with app.app_context():
        from grader.extensions import db
        from grader.models import ApiToken
        from grader.services.users import hash_token

        return db.session.query(ApiToken).filter_by(token_hash=hash_token(token)).one().id


def assert_followed_links(steps: list[tuple[str, int]]) -> None:
    """No step was a server error, and a link led from a submission to its result."""
    assert steps and all(status < 500 for _, status in steps), steps
    created = [s for label, s in steps if label.startswith("POST") and "submissions" in label]
    assert created and all(s in (201, 202) for s in created), steps
    read_back = [s for label, s in steps if label.startswith("GET /api/v1/submissions/")]
    assert 200 in read_back, steps  # a link was followed to a submission that exists
