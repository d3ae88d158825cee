"""A submitted graph drawn as SVG on the result and instructor pages (no script: plain markup
that the pages' Content-Security-Policy allows).

Variables are squares and operators circles, as in the chapter and the editor; each node has a
number, so feedback and the edge list can be matched to the drawing. Nodes are laid out one
column per layer (the longest path from an input), one row per node of a layer.

Where the feedback level allows, the edges that differ from the reference are marked: each
kind with its own colour, its own line pattern and a sign at its middle (✗ extra, ↔ the wrong
way round, + missing), explained in a legend that also names every marked edge in words.
``full`` marks all of them; ``hints`` marks the student's own wrong edges (extra, and reversed
ones as extra) but not the reference's missing edges; ``score-only`` marks nothing.
"""

from __future__ import annotations

from typing import Any, Literal

import networkx as nx
from markupsafe import Markup, escape

from grader.kinds.graph import MarkedDrawing
from grader.kinds.graph_parse import DrawnGraph, GraphFormatError, parse_graph

FeedbackLevel = Literal["full", "hints", "score-only"]
FEEDBACK_LEVELS: tuple[FeedbackLevel, ...] = ("full", "hints", "score-only")

LAYER_GAP, ROW_GAP, MARGIN, RADIUS = 110, 64, 40, 22
MAX_LABEL = 10

# kind of mark -> (sign at the edge's middle, how the line looks, what it means)
MARKS = {
    "extra": ("✗", "red, dotted", "an edge the reference graph does not have"),
    "reversed": ("↔", "orange, dash-dot", "an edge the reference graph has the other way round"),
    "missing": ("+", "green, dashed", "an edge of the reference graph that your graph lacks"),
}


def _layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    if not nx.is_directed_acyclic_graph(graph):
        return {node: index % 6 for index, node in enumerate(nodes)}
    depth: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        depth[node] = max((depth[p] + 1 for p in graph.predecessors(node)), default=0)
    return depth


def _edge_marks(
    marked: MarkedDrawing | None, feedback: FeedbackLevel
) -> dict[str, list[tuple[str, str]]]:
    """Return the edges to mark, by kind of mark, as the feedback level allows."""
    if marked is None or feedback == "score-only":
        return {}
    marks = marked.marks
    if feedback == "hints":  # the student's wrong edges, without saying what the right one is
        return {"extra": list(marks.extra) + list(marks.reversed)}
    return {
        "extra": list(marks.extra),
        "reversed": list(marks.reversed),
        "missing": list(marks.missing),
    }


def _line(where: dict[str, tuple[float, float]], start: str, end: str, mark: str, text: str) -> str:
    (x1, y1), (x2, y2) = where[start], where[end]
    dx, dy = x2 - x1, y2 - y1
    length = max((dx * dx + dy * dy) ** 0.5, 1.0)
    ux, uy = dx / length, dy / length
    arrow = f"graph-arrow-{mark}" if mark else "graph-arrow"
    line = (
        f'<line class="edge{" " + mark if mark else ""}" x1="{x1 + ux * RADIUS:.1f}" '
        f'y1="{y1 + uy * RADIUS:.1f}" x2="{x2 - ux * (RADIUS + 2):.1f}" '
        f'y2="{y2 - uy * (RADIUS + 2):.1f}" marker-end="url(#{arrow})"/>'
    )
    if not mark:
        return line
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    return (
        f'<g class="edge-mark {mark}"><title>{escape(text)}</title>{line}'
        f'<circle cx="{mx:.1f}" cy="{my:.1f}" r="8"/>'
        f'<text class="sign" x="{mx:.1f}" y="{my:.1f}">{MARKS[mark][0]}</text></g>'
    )


def _markers(kinds: list[str]) -> str:
    return "".join(
        f'<marker id="graph-arrow{"-" + kind if kind else ""}" viewBox="0 0 10 10" refX="10" '
        'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path class="{kind or "plain"}" d="M 0 0 L 10 5 L 0 10 z"/></marker>'
        for kind in ["", *kinds]
    )


def _name(drawn: DrawnGraph, number: dict[str, int], node_id: str) -> str:
    return f"{number[node_id]} {drawn.describe_short(node_id)}"


def _svg(drawn: DrawnGraph, marks: dict[str, list[tuple[str, str]]], number: dict[str, int]) -> str:
    ids = list(drawn.nodes)
    depth = _layers(ids, drawn.edges)
    rows: dict[int, int] = {}
    where: dict[str, tuple[float, float]] = {}
    for node_id in ids:
        layer = depth[node_id]
        row = rows.get(layer, 0)
        rows[layer] = row + 1
        where[node_id] = (MARGIN + layer * LAYER_GAP, MARGIN + row * ROW_GAP)
    width = MARGIN * 2 + max(depth.values()) * LAYER_GAP
    height = MARGIN * 2 + (max(rows.values()) - 1) * ROW_GAP
    counted = ", ".join(f"{len(edges)} marked {kind}" for kind, edges in marks.items() if edges)
    parts = [
        f'<svg class="graph-drawing" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="Drawing of the graph: {len(ids)} nodes, '
        f"{len(drawn.edges)} edges{'; ' + counted if counted else ''} (the "
        f'{"legend and " if counted else ""}edge list say the same)">',
        f"<defs>{_markers([kind for kind, edges in marks.items() if edges])}</defs>",
    ]
    mark_of = {edge: kind for kind, edges in marks.items() for edge in edges}
    for start, end in drawn.edges:
        mark = mark_of.get((start, end), "")
        text = f"{mark} edge: {_name(drawn, number, start)} → {_name(drawn, number, end)}"
        parts.append(_line(where, start, end, mark, text))
    for start, end in marks.get("missing", []):
        text = f"missing edge: {_name(drawn, number, start)} → {_name(drawn, number, end)}"
        parts.append(_line(where, start, end, "missing", text))
    for node_id in ids:
        node = drawn.nodes[node_id]
        x, y = where[node_id]
        label = node.label if len(node.label) <= MAX_LABEL else node.label[: MAX_LABEL - 1] + "…"
        half = max(RADIUS, len(label) * 4 + 8)
        shape = (
            f'<rect x="{-half}" y="{-RADIUS * 0.8:.1f}" width="{2 * half}" '
            f'height="{RADIUS * 1.6:.1f}" rx="3"/>'
            if node.type == "variable"
            else f'<ellipse rx="{half}" ry="{RADIUS}"/>'
        )
        parts.append(
            f'<g class="node {escape(node.type)}" transform="translate({x},{y})">'
            f"<title>{number[node_id]}: {escape(node.label)} ({escape(node.type)})</title>"
            f'{shape}<text class="label">{escape(label)}</text>'
            f'<text class="number" x="{-half - 2}" y="{-RADIUS + 2}">{number[node_id]}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(
    drawn: DrawnGraph,
    marks: dict[str, list[tuple[str, str]]],
    number: dict[str, int],
    elsewhere: tuple[str, ...],
    feedback: FeedbackLevel,
) -> str:
    """Return the legend of the marks: each kind's sign, line and meaning, with the edges it
    marks named in words (node numbers as in the drawing)."""
    items = []
    for kind, edges in marks.items():
        if not edges:
            continue
        sign, look, meaning = MARKS[kind]
        named = ", ".join(
            f"{_name(drawn, number, a)} → {_name(drawn, number, b)}" for a, b in edges
        )
        items.append(
            f'<li class="{kind}"><svg class="legend-line" width="44" height="14" '
            f'aria-hidden="true"><line class="edge {kind}" x1="2" y1="7" x2="42" y2="7"/></svg>'
            f' <span class="sign">{sign}</span> {look}: {meaning} ({len(edges)}): '
            f"{escape(named)}</li>"
        )
    if elsewhere:
        items.append(
            '<li class="missing-elsewhere">Also missing, at nodes your graph does not have: '
            f"{escape(', '.join(elsewhere))}</li>"
        )
    if not items:
        items.append("<li>Every edge you drew is in the reference graph.</li>")
    note = (
        '<p class="small muted">Edges your graph lacks are not shown.</p>'
        if feedback == "hints"
        else ""
    )
    return (
        '<div class="graph-legend"><p class="legend-title">Your edges compared with the '
        f"reference graph:</p><ul>{''.join(items)}</ul>{note}</div>"
    )


def graph_svg(
    answer: Any, marked: MarkedDrawing | None = None, feedback: FeedbackLevel = "full"
) -> Markup:
    """Return a drawing of a graph answer (JSON object or edge list) in a scrollable box, with
    the edges that differ from the reference marked and a legend when ``marked`` is given and
    ``feedback`` allows (see the module docstring); an empty string when the answer cannot be
    read (the page shows it as text anyway). Raises ``ValueError`` for an unknown level."""
    if feedback not in FEEDBACK_LEVELS:
        raise ValueError(f"unknown feedback level {feedback!r}")
    if marked is not None:
        drawn = marked.drawing
    else:
        try:
            drawn = parse_graph(answer)
        except GraphFormatError:
            return Markup("")
    if not drawn.nodes:
        return Markup("")
    number = {node_id: index + 1 for index, node_id in enumerate(drawn.nodes)}
    marks = _edge_marks(marked, feedback)
    figure = f'<div class="graph-scroll" tabindex="0">{_svg(drawn, marks, number)}</div>'
    if marked is None or feedback == "score-only":
        return Markup(figure)
    elsewhere = marked.marks.missing_elsewhere if feedback == "full" else ()
    return Markup(figure + _legend(drawn, marks, number, elsewhere, feedback))
