"""A submitted graph drawn as SVG on the result and instructor pages (no script: plain markup
that the pages' Content-Security-Policy allows).

Variables are squares and operators circles, as in the chapter and the editor; each node has a
number, so feedback and the edge list can be matched to the drawing. Nodes are laid out one
column per layer (the longest path from an input), one row per node of a layer.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from markupsafe import Markup, escape

from grader.kinds.graph_parse import GraphFormatError, parse_graph

LAYER_GAP, ROW_GAP, MARGIN, RADIUS = 110, 64, 40, 22
MAX_LABEL = 10


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


def graph_svg(answer: Any) -> Markup:
    """Return an ``<svg>`` drawing of a graph answer (JSON object or edge list), or an empty
    string when it cannot be read (the page shows the answer as text anyway)."""
    try:
        drawn = parse_graph(answer)
    except GraphFormatError:
        return Markup("")
    if not drawn.nodes:
        return Markup("")
    ids = list(drawn.nodes)
    number = {node_id: index + 1 for index, node_id in enumerate(ids)}
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
    parts = [
        f'<svg class="graph-drawing" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="Drawing of the graph: {len(ids)} nodes, '
        f'{len(drawn.edges)} edges (the edge list says the same)">',
        '<defs><marker id="graph-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>',
    ]
    for start, end in drawn.edges:
        (x1, y1), (x2, y2) = where[start], where[end]
        dx, dy = x2 - x1, y2 - y1
        length = max((dx * dx + dy * dy) ** 0.5, 1.0)
        ux, uy = dx / length, dy / length
        parts.append(
            f'<line class="edge" x1="{x1 + ux * RADIUS:.1f}" y1="{y1 + uy * RADIUS:.1f}" '
            f'x2="{x2 - ux * (RADIUS + 2):.1f}" y2="{y2 - uy * (RADIUS + 2):.1f}" '
            'marker-end="url(#graph-arrow)"/>'
        )
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
    return Markup("".join(parts))
