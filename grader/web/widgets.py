"""The answer widget of each exercise kind, in one place: which template macro draws the
input, and how its form fields become the answer value the kind grades.

A new kind needs one line in ``WIDGETS``; a kind without an entry gets a one-line text input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

FIELD_PREFIX = "answer-"
EDGES_PREFIX = "edges-"


def field_name(part_id: str) -> str:
    """Return the form field name of a part's answer."""
    return FIELD_PREFIX + part_id


def _read_text(form: MultiDict, part: dict[str, Any]) -> Any:
    return form.get(field_name(part["id"]), "").strip()


def _read_code(form: MultiDict, part: dict[str, Any]) -> Any:
    code = form.get(field_name(part["id"]), "").replace("\r\n", "\n")
    return code if code.strip() else ""


def _read_choice(form: MultiDict, part: dict[str, Any]) -> Any:
    return [value for value in form.getlist(field_name(part["id"])) if value]


def _read_graph(form: MultiDict, part: dict[str, Any]) -> Any:
    """The editor's JSON when it holds nodes, else the edge-list text (keyboard users)."""
    raw = form.get(field_name(part["id"]), "").strip()
    if raw:
        try:
            graph = json.loads(raw)
        except ValueError:
            graph = None
        if isinstance(graph, dict) and graph.get("nodes"):
            return graph
    return form.get(EDGES_PREFIX + part["id"], "").strip()


def _focus_answer(part: dict[str, Any]) -> str:
    return field_name(part["id"])


def _focus_first_option(part: dict[str, Any]) -> str:
    options = part.get("options") or []
    return f"{field_name(part['id'])}-{options[0]['id']}" if options else f"part-{part['id']}"


def _focus_edges(part: dict[str, Any]) -> str:
    return EDGES_PREFIX + part["id"]


@dataclass(frozen=True)
class Widget:
    """A macro of ``widgets.html``, the function reading its fields from the form, and the id
    of the element an error summary links to (the first field a student can type in)."""

    macro: str
    read: Callable[[MultiDict, dict[str, Any]], Any]
    focus: Callable[[dict[str, Any]], str] = _focus_answer


TEXT_INPUT = Widget("text_input", _read_text)
WIDGETS: dict[str, Widget] = {
    "shape": Widget("shape_input", _read_text),
    "choice": Widget("choice_input", _read_choice, _focus_first_option),
    "formula": Widget("formula_input", _read_text),
    "memory": Widget("memory_input", _read_text),
    "graph": Widget("graph_editor", _read_graph, _focus_edges),
    "code": Widget("code_editor", _read_code),
    "text": Widget("text_area", _read_code),
}


def widget_for(kind: str) -> Widget:
    """Return the widget of a kind (a plain text input for a kind without one)."""
    return WIDGETS.get(kind, TEXT_INPUT)


def answers_from_form(form: MultiDict, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the answers in a submitted form, keyed by part id (every part, maybe empty)."""
    return {part["id"]: widget_for(part["kind"]).read(form, part) for part in parts}


def is_blank(answer: Any) -> bool:
    """True when an answer holds nothing (an empty text, no option chosen)."""
    return answer in (None, "", [], {})
