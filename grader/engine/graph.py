"""The computational graph of a traced model, in the chapter's drawing convention.

- Variable nodes: every leaf (inputs, parameters, named constants) and every named result.
- Operator nodes: one per op application, labelled canonically (``OP_LABELS``).
- Edges: each input -> its operator; an operator whose result is named -> that variable;
  an unnamed result feeds its consumers directly (operator -> operator).
- Scalar numeric constants (the 2 in ``lam/2``, the exponent of ``^2``) are not nodes: they
  are omitted from the JSON and shown after the operator's label in the DOT rendering
  (``div 2``, ``pow 2``). Unnamed non-scalar constants (``ones``, ``eye``) are variables
  labelled by their kind.
- Duplicate edges (``x * x``) appear once.

JSON: ``{"nodes": [{"id", "label", "type": "variable"|"operator"}], "edges": [[from, to]]}``;
a variable's id is its name (suffixed ``#2``... when repeated), an operator's is
``<label>_<k>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grader.engine.tensor import Tensor, ancestors

OP_LABELS = {"add_bias": "add", "cross_entropy": "l", "squared_loss": "l", "identity": "id"}


def op_label(op: str) -> str:
    """The canonical, short graph label of an op (``add_bias`` -> ``add``)."""
    return OP_LABELS.get(op, op)


def _hidden(t: Tensor) -> bool:
    return t.is_leaf and t.is_constant and t.name is None and t.shape == ()


def _detail(t: Tensor) -> str:
    values = [p.item() for p in t.parents if _hidden(p)]
    if "exponent" in t.attrs:
        values.append(t.attrs["exponent"])
    return " ".join(f"{v:g}" for v in values)


def _build(roots: Tensor | Sequence[Tensor]) -> dict[str, Any]:
    roots = [roots] if isinstance(roots, Tensor) else list(roots)
    nodes: list[dict[str, str]] = []
    edges: list[list[str]] = []
    seen_edges: set[tuple[str, str]] = set()
    taken: set[str] = set()
    counters: dict[str, int] = {}
    source: dict[int, str] = {}  # tensor id -> graph node that carries its value
    operator: dict[int, str] = {}  # tensor id -> the operator node that computed it

    def fresh(base: str, operator: bool) -> str:
        if operator:
            counters[base] = counters.get(base, 0) + 1
            candidate = f"{base}_{counters[base]}"
        else:
            candidate = base
        k = 1
        while candidate in taken:
            k += 1
            candidate = f"{base}#{k}"
        taken.add(candidate)
        return candidate

    def edge(a: str, b: str) -> None:
        if (a, b) not in seen_edges:
            seen_edges.add((a, b))
            edges.append([a, b])

    for t in ancestors(roots):
        if t.is_leaf:
            if not _hidden(t):
                vid = fresh(t.label, operator=False)
                nodes.append({"id": vid, "label": t.label, "type": "variable", "detail": ""})
                source[t.id] = vid
            continue
        label = op_label(t.op or "")
        oid = fresh(label, operator=True)
        nodes.append({"id": oid, "label": label, "type": "operator", "detail": _detail(t)})
        for parent in t.parents:
            if parent.id in source:
                edge(source[parent.id], oid)
        source[t.id] = operator[t.id] = oid
        if t.name:
            vid = fresh(t.name, operator=False)
            nodes.append({"id": vid, "label": t.name, "type": "variable", "detail": ""})
            edge(oid, vid)
            source[t.id] = vid
    return {"nodes": nodes, "edges": edges, "source": source, "operator": operator}


def traced_graph(
    roots: Tensor | Sequence[Tensor],
) -> tuple[dict[str, Any], dict[int, str], dict[int, str]]:
    """The graph JSON of :func:`computational_graph`, with where each tensor is drawn: tensor
    id -> the node carrying its value (a variable, or the operator of an unnamed result), and
    tensor id -> the operator node that computed it (op results only)."""
    built = _build(roots)
    nodes = [{k: n[k] for k in ("id", "label", "type")} for n in built["nodes"]]
    return {"nodes": nodes, "edges": built["edges"]}, built["source"], built["operator"]


def computational_graph(roots: Tensor | Sequence[Tensor]) -> dict[str, Any]:
    """The graph of everything the roots depend on, as the JSON object described above."""
    built = _build(roots)
    nodes = [{k: n[k] for k in ("id", "label", "type")} for n in built["nodes"]]
    return {"nodes": nodes, "edges": built["edges"]}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(roots: Tensor | Sequence[Tensor], title: str = "model") -> str:
    """A Graphviz DOT rendering: variables as boxes, operators as circles, inputs on the left."""
    built = _build(roots)
    lines = [f"digraph {_quote(title)} {{", "  rankdir=LR;"]
    for n in built["nodes"]:
        shape = "box" if n["type"] == "variable" else "circle"
        label = f"{n['label']} {n['detail']}".strip()
        lines.append(f"  {_quote(n['id'])} [shape={shape}, label={_quote(label)}];")
    for a, b in built["edges"]:
        lines.append(f"  {_quote(a)} -> {_quote(b)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
