"""POST /api/v1/exercises/{slug}/preview: how the server reads an answer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from grader.api.preview import formula_namespace, preview_formula, preview_memory
from grader.kinds.spec import ExerciseSpec
from tests.api.helpers import auth, is_problem

URL = "/api/v1/exercises/jacobian-shape/preview"


def test_shape_preview(imported, client, make_token):
    response = client.post(URL, json={"part": "shape", "answer": "R^{n x m}"},
                           headers=auth(make_token("submit")))
    assert response.status_code == 200, response.json
    assert response.json == {"part": "shape", "kind": "shape", "valid": True,
                             "shape": ["n", "m"], "source": "n×m"}


def test_shape_preview_error(imported, client, make_token):
    body = client.post(URL, json={"part": "shape", "answer": "n×k"},
                       headers=auth(make_token())).json
    assert body["valid"] is False and "Unknown size 'k'" in body["error"]["message"]


def test_choice_has_no_preview(imported, client, make_token):
    response = client.post(URL, json={"part": "vector_or_matrix", "answer": ["dJ_do"]},
                           headers=auth(make_token()))
    assert is_problem(response, 422, "no-preview")
    assert "choice" in response.json["detail"]


@pytest.mark.parametrize("body,kind", [
    ({"part": "nope", "answer": "x"}, "unknown-part"),
    ({"part": "shape", "answer": 3}, "invalid-answer"),
    ({"part": "shape", "answer": "n" * 5000}, "invalid-answer"),
    ({"part": "shape"}, "invalid-answer"),
    ({"part": "shape", "answer": "n", "x": 1}, "unknown-field"),
])
def test_bad_preview_requests(imported, client, make_token, body, kind):
    assert is_problem(client.post(URL, json=body, headers=auth(make_token())), 422, kind)


def test_preview_needs_token_and_known_exercise(imported, client, make_token):
    assert is_problem(client.post(URL, json={"part": "shape", "answer": "n"}), 401)
    response = client.post("/api/v1/exercises/nope/preview", json={"part": "a", "answer": "n"},
                           headers=auth(make_token()))
    assert is_problem(response, 404, "exercise-not-found")
    response = client.post(URL, json={"part": "shape", "answer": "n"},
                           headers=auth(make_token("read:scores")))
    assert is_problem(response, 403)


SPEC = ExerciseSpec.model_validate({
    "slug": "bias", "title": "t", "dims": {"d": [2, 4], "h": [2, 4], "q": [2, 4]},
    "variables": {"x": {"shape": ["d"]}, "W1": {"shape": ["h", "d"]}, "b1": {"shape": ["h"]},
                  "lam": {"shape": [], "aliases": ["λ"]}},
    "functions": {"phi": {"choices": ["tanh"]}},
    "model": {"z": "W1 @ x + b1", "h": "phi(z)"},
    "parts": [{"id": "dJ_dh", "kind": "shape", "answer": "h"},
              {"id": "dJ_dz", "kind": "shape", "answer": "h"}],
})


def test_formula_preview_renders_mathml_and_latex():
    part = SimpleNamespace(id="dJ_dz")
    body = preview_formula(part, "dJ_dh ⊙ φ'(z) + λ W_1 @ x", SPEC)
    assert body["valid"] is True
    assert body["source"] == "dJ_dh * phi'(z) + lam * W1 @ x"
    assert body["mathml"].startswith("<math") and "<mi>" in body["mathml"]
    assert "\\lambda" in body["latex"]


def test_formula_preview_error_has_a_column():
    body = preview_formula(SimpleNamespace(id="dJ_dz"), "W1 @ (x + ", SPEC)
    assert body["valid"] is False and body["error"]["column"] >= 6
    unknown = preview_formula(SimpleNamespace(id="dJ_dh"), "dJ_dz + 1", SPEC)
    assert unknown["valid"] is False and "dJ_dz" in unknown["error"]["message"]


def test_formula_namespace_defaults_to_the_chapter_and_memory_uses_sizes():
    bare = ExerciseSpec.model_validate(
        {"slug": "s", "title": "t", "parts": [{"id": "a", "kind": "shape", "answer": "1"}]})
    assert "W1" in formula_namespace(bare, "a").variable_names
    body = preview_memory(SimpleNamespace(id="training"), "n(2h + q) + h d", SPEC)
    assert body["valid"] and body["source"] == "n * (2 * h + q) + h * d"


@pytest.mark.parametrize("slug,part,answer,expect", [
    ("backprop-bias", "dJ_db2", "2(o - y)", {"valid": True, "source": "2 * (o - y)"}),
    ("backprop-bias", "z", "W1 @ (x", {"valid": False}),
    ("memory-footprint", "training", "n(2h + q)", {"valid": True}),
])
def test_preview_through_the_kinds_own_previews(imported, client, make_token, slug, part,
                                                answer, expect):
    response = client.post(f"/api/v1/exercises/{slug}/preview",
                           json={"part": part, "answer": answer}, headers=auth(make_token()))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["part"] == part and body.items() >= expect.items()
    if body["valid"]:
        assert body["mathml"].startswith("<math") and body["latex"]
    else:
        assert body["error"]["column"] == 6


def test_graph_parts_have_no_preview(imported, client, make_token):
    response = client.post("/api/v1/exercises/graph-bias/preview",
                           json={"part": "graph", "answer": "x -> z"}, headers=auth(make_token()))
    assert is_problem(response, 422, "no-preview")
