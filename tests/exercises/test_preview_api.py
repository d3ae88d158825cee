"""The preview route reads formula and memory answers with the kinds' own namespaces."""

from tests.api.helpers import auth


def _preview(client, token, slug, part, answer):
    response = client.post(
        f"/api/v1/exercises/{slug}/preview",
        json={"part": part, "answer": answer},
        headers=auth(token),
    )
    assert response.status_code == 200, response.json
    return response.json


def test_formula_preview_knows_earlier_parts_and_refuses_the_part_itself(
    imported, client, make_token
):
    token = make_token("submit")
    ok = _preview(client, token, "backprop-bias", "dJ_db1", "W2^T (2(o − y)) ⊙ φ'(z)")
    assert ok["valid"] and ok["kind"] == "formula" and "<math" in ok["mathml"]
    assert _preview(client, token, "backprop-bias", "dJ_dW1", "dJ_dz xᵀ + λ W1")["valid"]
    itself = _preview(client, token, "backprop-bias", "z", "z")
    assert not itself["valid"] and "cannot be used in this part" in itself["error"]["message"]
    broken = _preview(client, token, "backprop-bias", "dJ_do", "2*(o - y")
    assert not broken["valid"] and broken["error"]["column"] >= 1


def test_memory_preview_reads_max(imported, client, make_token):
    body = _preview(
        client, make_token("submit"), "memory-footprint", "prediction", "h*d + max(d n, 2 h n)"
    )
    assert body["valid"] and "max" in body["source"]
