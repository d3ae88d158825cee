"""The graph editor reads bare names as the server does: one vocabulary, sent by the server.

The editor used to carry its own copy of the operator spellings and lowercased names (``L``
became the loss operator ``l``, ``ℓ2`` a variable because of its digit).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.catalog import load_files
from grader.kinds.graph import exercise_names
from grader.kinds.graph_parse import parse_edge_list
from tests.web.test_e2e import browser, need_exercise, page, server, sign_in  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_files([ROOT / "exercises" / "graph-bias.yaml"])[0].spec
NAMES = exercise_names(SPEC)
TOKENS = [
    "L",
    "l",
    "ℓ",
    "ℓ2",
    "l2",
    "L2",
    "ℓ_2",
    "ℓ₂",
    "W1",
    "W_1",
    "W^(1)",
    "W₁",
    "\\mathbf{W}_1",
    "b_1",
    "b₁",
    "λ",
    "lambda",
    "lam",
    "z",
    "h",
    "o",
    "s",
    "S",
    "J",
    "x",
    "y",
    "+",
    "×",
    "*",
    "@",
    "·",
    "⊙",
    "matmul",
    "Matmul",
    "MATMUL",
    "φ",
    "phi",
    "Phi",
    "tanh",
    "Tanh",
    "sigmoid",
    "pow 2",
    "/ 2",
    "^2",
    "²",
    "sum",
    "sq",
    "act",
    "id",
    "u",
    "p",
    "loss",
    "Loss",
    "reg",
    "norm",
    "‖‖",
    "+#1",
    "matmul#2",
    "ℓ2#1",
    "L#2",
    "add_bias",
    "$z$",
    "minus",
    "−",
]


def server_type(token: str) -> str:
    graph = parse_edge_list(f"{token} -> zz9", NAMES)
    return next(node.type for node in graph.nodes.values() if node.id != "zz9")


def test_bare_names_on_the_server():
    assert server_type("L") == "variable"
    assert server_type("ℓ2") == "operator"
    assert server_type("l") == "operator"
    # without the exercise's names, a capital L is still no loss operator
    graph = parse_edge_list("L -> ℓ2", {})
    assert [n.type for n in graph.nodes.values()] == ["variable", "operator"]


def test_the_public_part_carries_the_vocabulary():
    part = next(p for p in SPEC.public()["parts"] if p["kind"] == "graph")
    vocabulary = part["vocabulary"]
    assert vocabulary["names"]["L"] == "L" and vocabulary["names"]["lam"] == "lam"
    assert "ℓ2" in vocabulary["operators"] and "L" not in vocabulary["operators"]


def test_editor_types_names_as_the_server_does(page, server):  # noqa: F811
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    in_browser = page.evaluate(
        """tokens => {
             const root = document.querySelector('.graph-editor');
             const vocabulary = new window.GraphVocabulary(JSON.parse(root.dataset.vocabulary));
             return tokens.map(t => vocabulary.typeOf(t));
           }""",
        TOKENS,
    )
    assert dict(zip(TOKENS, in_browser, strict=True)) == {t: server_type(t) for t in TOKENS}


def test_edge_list_typed_as_the_prompt_says_keeps_l_and_l2(page, server):  # noqa: F811
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    editor = page.locator(".graph-editor").first
    editor.locator("textarea.graph-edges").fill(
        "o -> l; y -> l; l -> L; W1 -> ℓ2; W2 -> ℓ2; ℓ2 -> s; L -> +; s -> +; + -> J"
    )
    drawn = json.loads(editor.locator("input.graph-json").input_value())
    types = {node["label"]: node["type"] for node in drawn["nodes"]}
    assert types["L"] == "variable" and types["l"] == "operator"
    assert types["ℓ2"] == "operator" and types["s"] == "variable"
    text = editor.locator("textarea.graph-edges").input_value()
    assert "(" not in text and "[" not in text  # every bare name was read as written


@pytest.mark.parametrize("label", ["L", "ℓ2"])
def test_enter_in_the_label_field_adds_the_right_shape(page, server, label):  # noqa: F811
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    editor = page.locator(".graph-editor").first
    editor.get_by_label("Node label").fill(label)
    editor.get_by_label("Node label").press("Enter")
    drawn = json.loads(editor.locator("input.graph-json").input_value())
    assert drawn["nodes"][0]["type"] == server_type(label)
