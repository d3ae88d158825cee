"""POST /api/v1/exercises/{slug}/preview: how the server reads an answer."""

from __future__ import annotations

import pytest

from tests.api.helpers import auth, is_problem

URL = "/api/v1/exercises/jacobian-shape/preview"


def test_shape_preview(imported, client, make_token):
    response = client.post(
        URL, json={"part": "shape", "answer": "R^{n x m}"}, headers=auth(make_token("submit"))
    )
    assert response.status_code == 200, response.json
    assert response.json == {
        "part": "shape",
        "kind": "shape",
        "valid": True,
        "shape": ["n", "m"],
        "source": "n×m",
    }


def test_shape_preview_error(imported, client, make_token):
    body = client.post(
        URL, json={"part": "shape", "answer": "n×k"}, headers=auth(make_token())
    ).json
    assert body["valid"] is False and "Unknown size 'k'" in body["error"]["message"]


def test_choice_has_no_preview(imported, client, make_token):
    response = client.post(
        URL, json={"part": "vector_or_matrix", "answer": ["dJ_do"]}, headers=auth(make_token())
    )
    assert is_problem(response, 422, "no-preview")
    assert "choice" in response.json["detail"]


@pytest.mark.parametrize(
    "body,kind",
    [
        ({"part": "nope", "answer": "x"}, "unknown-part"),
        ({"part": "shape", "answer": 3}, "invalid-answer"),
        ({"part": "shape", "answer": "n" * 5000}, "invalid-answer"),
        ({"part": "shape"}, "invalid-answer"),
        ({"part": "shape", "answer": "n", "x": 1}, "unknown-field"),
    ],
)
def test_bad_preview_requests(imported, client, make_token, body, kind):
    assert is_problem(client.post(URL, json=body, headers=auth(make_token())), 422, kind)


def test_preview_needs_token_and_known_exercise(imported, client, make_token):
    assert is_problem(client.post(URL, json={"part": "shape", "answer": "n"}), 401)
    response = client.post(
        "/api/v1/exercises/nope/preview",
        json={"part": "a", "answer": "n"},
        headers=auth(make_token()),
    )
    assert is_problem(response, 404, "exercise-not-found")
    response = client.post(
        URL, json={"part": "shape", "answer": "n"}, headers=auth(make_token("read:scores"))
    )
    assert is_problem(response, 403)


@pytest.mark.parametrize(
    "slug,part,answer,expect",
    [
        ("backprop-bias", "dJ_db2", "2(o - y)", {"valid": True, "source": "2 * (o - y)"}),
        ("backprop-bias", "z", "W1 @ (x", {"valid": False}),
        ("memory-footprint", "training", "n(2h + q)", {"valid": True}),
    ],
)
def test_preview_through_the_kinds_own_previews(
    imported, client, make_token, slug, part, answer, expect
):
    response = client.post(
        f"/api/v1/exercises/{slug}/preview",
        json={"part": part, "answer": answer},
        headers=auth(make_token()),
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["part"] == part and body.items() >= expect.items()
    if body["valid"]:
        assert body["mathml"].startswith("<math") and body["latex"]
    else:
        assert body["error"]["column"] == 6


def test_graph_parts_have_no_preview(imported, client, make_token):
    response = client.post(
        "/api/v1/exercises/graph-bias/preview",
        json={"part": "graph", "answer": "x -> z"},
        headers=auth(make_token()),
    )
    assert is_problem(response, 422, "no-preview")
