"""Comparing a drawn graph with the reference: labelled isomorphism, then partial agreement.

Full agreement is a labelled DAG isomorphism (node type and normalised label must match).
Otherwise the drawing is aligned with the reference: variables by label, operators by label and
labelled neighbourhood (a maximum-weight matching per operator label, refined once with the
operators already aligned). Nodes that line up except for their label or their type are
*mislabelled*; the edges then fall into matched, missing, extra and reversed.

Score share: the mean of node agreement and edge agreement, each counting what is missing and
what is extra: ``nodes = (matched + ½·mislabelled) / (reference nodes + extra nodes)`` and
``edges = matched / (reference edges + extra edges + reversed edges)``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import networkx as nx

from grader.kinds.graph_parse import (
    OPERATOR,
    VARIABLE,
    DrawnGraph,
    DrawnNode,
    is_operator_spelling,
    operator_key,
    variable_key,
)

MAX_MESSAGES = 5
_TYPE_WORDS = {VARIABLE: ("a variable", "a square"), OPERATOR: ("an operator", "a circle")}


def _match(a: dict, b: dict) -> bool:
    return a["type"] == b["type"] and a["key"] == b["key"]


def isomorphic(drawn: DrawnGraph, reference: DrawnGraph) -> bool:
    """Return True when the drawings are the same labelled graph."""
    if len(drawn.nodes) != len(reference.nodes) or len(drawn.edges) != len(reference.edges):
        return False
    keys = sorted((n.type, n.key) for n in drawn.nodes.values())
    if keys != sorted((n.type, n.key) for n in reference.nodes.values()):
        return False
    return nx.is_isomorphic(drawn.digraph(), reference.digraph(), node_match=_match)


@dataclass
class Comparison:
    """How a drawing agrees with the reference, with feedback sentences in order of weight."""

    share: float
    messages: list[tuple[str, str]] = field(default_factory=list)  # (diagnosis, sentence)


def feedback_text(messages: list[tuple[str, str]]) -> str:
    """Return the feedback of (diagnosis, sentence) pairs: the first few, and how many more."""
    shown = [text for _, text in messages[:MAX_MESSAGES]]
    hidden = len(messages) - len(shown)
    if hidden:
        shown.append(f"…and {hidden} more difference(s).")
    return " ".join(shown)


def _align(drawn: DrawnGraph, reference: DrawnGraph) -> tuple[dict[str, str], set[str]]:
    """Return student id -> reference id, and the student ids aligned despite a wrong label/type."""
    mapping: dict[str, str] = {}
    flawed: set[str] = set()
    ref_vars = {n.key: n.id for n in reference.nodes.values() if n.type == VARIABLE}
    used: set[str] = set()
    for node in drawn.nodes.values():
        core = node.label.split("#", 1)[0]
        if node.type == VARIABLE:
            target = ref_vars.get(node.key)
        elif not is_operator_spelling(core):  # a variable's name drawn as a circle
            target = ref_vars.get(variable_key(core))
        else:
            continue
        if target is not None and target not in used:
            mapping[node.id] = target
            used.add(target)
            if node.type != VARIABLE:
                flawed.add(node.id)
    for _ in range(2):
        ops_mapping = _align_operators(drawn, reference, mapping)
        mapping = {
            k: v for k, v in mapping.items() if drawn.nodes[k].type == VARIABLE or k in flawed
        } | ops_mapping
    # Operators left over on both sides that sit in the same place: mislabelled.
    left_drawn = [n for n in drawn.nodes.values() if n.id not in mapping]
    left_ref = {n.id for n in reference.nodes.values()} - set(mapping.values())
    candidates = []
    for node in left_drawn:
        for ref_id in left_ref:
            ref_node = reference.nodes[ref_id]
            if ref_node.type != node.type and _read_as(node, ref_node.type) != ref_node.key:
                continue  # a square for a circle only when its label names that circle
            overlap = _overlap(drawn, reference, mapping, node.id, ref_id)
            if overlap >= 1:
                candidates.append((overlap, node.id, ref_id))
    for _, node_id, ref_id in sorted(candidates, reverse=True):
        if node_id not in mapping and ref_id not in mapping.values():
            mapping[node_id] = ref_id
            flawed.add(node_id)
    return mapping, flawed


def _read_as(node: DrawnNode, type_: str) -> str:
    core = node.label.split("#", 1)[0].strip("[]() ")
    return variable_key(core) if type_ == VARIABLE else operator_key(core)[0]


def _neighbours(graph: DrawnGraph, node_id: str) -> tuple[set[str], set[str]]:
    ins = {a for a, b in graph.edges if b == node_id}
    outs = {b for a, b in graph.edges if a == node_id}
    return ins, outs


def _overlap(
    drawn: DrawnGraph, reference: DrawnGraph, mapping: dict[str, str], node_id: str, ref_id: str
) -> int:
    """Return how well two nodes' aligned neighbours agree: 2 per neighbour on the same side,
    1 per neighbour on the other side (an edge drawn reversed still places the node)."""
    ins, outs = _neighbours(drawn, node_id)
    ref_ins, ref_outs = _neighbours(reference, ref_id)
    mapped_ins = {mapping[i] for i in ins if i in mapping}
    mapped_outs = {mapping[o] for o in outs if o in mapping}
    same = len(mapped_ins & ref_ins) + len(mapped_outs & ref_outs)
    crossed = len(mapped_ins & ref_outs) + len(mapped_outs & ref_ins)
    return 2 * same + crossed


def _align_operators(
    drawn: DrawnGraph, reference: DrawnGraph, mapping: dict[str, str]
) -> dict[str, str]:
    result: dict[str, str] = {}
    labels = {n.key for n in reference.nodes.values() if n.type == OPERATOR}
    for label in labels:
        mine = [n.id for n in drawn.nodes.values() if n.type == OPERATOR and n.key == label]
        theirs = [n.id for n in reference.nodes.values() if n.type == OPERATOR and n.key == label]
        if not mine:
            continue
        bipartite = nx.Graph()
        for a in mine:
            for b in theirs:
                weight = 1 + 2 * _overlap(drawn, reference, mapping, a, b)
                bipartite.add_edge(("d", a), ("r", b), weight=weight)
        for u, v in nx.max_weight_matching(bipartite):
            (side_u, a), (_, b) = (u, v) if u[0] == "d" else (v, u)
            result[a] = b
    return result


@dataclass
class _EdgeSplit:
    """The edges of an aligned drawing: reference edges drawn (reference ids), drawn edges
    whose reverse is a reference edge and drawn edges that are neither (drawn ids), and
    reference edges drawn in neither direction (reference ids)."""

    matched: set[tuple[str, str]]
    reversed: list[tuple[str, str]]
    extra: list[tuple[str, str]]
    missing: list[tuple[str, str]]


def _split_edges(drawn: DrawnGraph, reference: DrawnGraph, mapping: dict[str, str]) -> _EdgeSplit:
    ref_edges = set(reference.edges)
    split = _EdgeSplit(set(), [], [], [])
    for a, b in drawn.edges:
        m = (mapping.get(a), mapping.get(b))
        if m in ref_edges:
            split.matched.add((m[0] or "", m[1] or ""))
        elif (m[1], m[0]) in ref_edges:
            split.reversed.append((a, b))
        else:
            split.extra.append((a, b))
    covered = split.matched | {(mapping[b], mapping[a]) for a, b in split.reversed}
    split.missing = [edge for edge in reference.edges if edge not in covered]
    return split


@dataclass(frozen=True)
class EdgeMarks:
    """Where a drawing's edges differ from the reference, for marking them on the drawing.

    ``extra`` and ``reversed`` are drawn edges (drawn ids) that the reference lacks, or has the
    other way round; ``missing`` are reference edges between two drawn nodes, as drawn ids;
    ``missing_elsewhere`` describes the reference edges at a node the drawing lacks.
    """

    extra: tuple[tuple[str, str], ...] = ()
    reversed: tuple[tuple[str, str], ...] = ()
    missing: tuple[tuple[str, str], ...] = ()
    missing_elsewhere: tuple[str, ...] = ()


def edge_marks(drawn: DrawnGraph, reference: DrawnGraph) -> EdgeMarks:
    """Align ``drawn`` with ``reference`` (as ``compare`` does) and return its edge marks."""
    mapping, _ = _align(drawn, reference)
    split = _split_edges(drawn, reference, mapping)
    drawn_of = {ref_id: node_id for node_id, ref_id in mapping.items()}
    missing, elsewhere = [], []
    for a, b in split.missing:
        if a in drawn_of and b in drawn_of:
            missing.append((drawn_of[a], drawn_of[b]))
        else:
            elsewhere.append(f"{reference.describe(a)} → {reference.describe(b)}")
    return EdgeMarks(tuple(split.extra), tuple(split.reversed), tuple(missing), tuple(elsewhere))


def compare(drawn: DrawnGraph, reference: DrawnGraph, said: Collection[str] = ()) -> Comparison:
    """Align ``drawn`` with ``reference`` and return the share of agreement and the feedback.

    Missing variables named in ``said`` (feedback that says it already) are not named again.
    """
    mapping, flawed = _align(drawn, reference)
    messages: list[tuple[str, str]] = []
    aligned = set(mapping.values())
    missing_nodes = [n for n in reference.nodes.values() if n.id not in aligned]
    absent = [n.key for n in missing_nodes if n.type == VARIABLE and n.key not in said]
    if absent:
        many = len(absent) > 1
        messages.append(
            (
                f"missing-node:{absent[0]}",
                f"Your graph has no {either(absent)} ("
                + ("variables, drawn as squares)." if many else "a variable, drawn as a square)."),
            )
        )
    for node in missing_nodes:
        if node.type != VARIABLE:
            messages.append(
                (f"missing-node:{node.key}", f"There is no {reference.describe(node.id)[4:]}.")
            )
    for node_id in sorted(flawed):
        node, target = drawn.nodes[node_id], reference.nodes[mapping[node_id]]
        if node.type != target.type:
            right, wrong = _TYPE_WORDS[target.type], _TYPE_WORDS[node.type]
            messages.append(
                (
                    f"type:{target.key}",
                    f"{node.label} is {right[0]}: draw it as {right[1]} "
                    f"(type {target.type}), not as {wrong[0]} ({wrong[1]}).",
                )
            )
        else:
            messages.append(
                (
                    f"mislabelled:{target.key}",
                    f"{_cap(drawn.describe(node_id))} should be {target.key}.",
                )
            )
    split = _split_edges(drawn, reference, mapping)
    missing_node_ids = {n.id for n in missing_nodes}
    for a, b in split.missing:
        if a in missing_node_ids or b in missing_node_ids:
            continue
        messages.append(
            (
                f"missing-edge:{reference.nodes[a].key}->{reference.nodes[b].key}",
                f"{_cap(reference.describe(a))} is not connected to {reference.describe(b)}.",
            )
        )
    reversed_edges = split.reversed
    if len(reversed_edges) == 1:
        a, b = reversed_edges[0]
        messages.insert(
            0,
            (
                "reversed-edge",
                f"The edge {drawn.describe_short(a)} → {drawn.describe_short(b)} is reversed: "
                f"the value flows from {drawn.describe_short(b)} to {drawn.describe_short(a)}.",
            ),
        )
    elif reversed_edges:
        named = ", ".join(
            f"{drawn.describe_short(a)} → {drawn.describe_short(b)}" for a, b in reversed_edges[:3]
        )
        more = "" if len(reversed_edges) <= 3 else ", …"
        whole = "all" if len(reversed_edges) == len(drawn.edges) else str(len(reversed_edges))
        messages.insert(
            0,
            (
                "reversed-edge",
                f"{whole.capitalize()} of your {len(drawn.edges)} edges are reversed ({named}"
                f"{more}): arrows point the way values flow, from each variable into the "
                "operators that use it and from each operator to the variable it computes, "
                "towards the output.",
            ),
        )
    extra_nodes = [n for n in drawn.nodes.values() if n.id not in mapping]
    for node in extra_nodes:
        messages.append(
            (f"extra-node:{node.key}", f"{node.label} is not part of this model's graph.")
        )
    extra_node_ids = {n.id for n in extra_nodes}
    for a, b in split.extra:
        if a in extra_node_ids or b in extra_node_ids:
            continue
        messages.append(
            (
                "extra-edge",
                f"The edge {drawn.describe_short(a)} → {drawn.describe_short(b)} does "
                "not belong in the graph.",
            )
        )
    good_nodes = len(mapping) - len(flawed) + 0.5 * len(flawed)
    node_share = good_nodes / max(1, len(reference.nodes) + len(extra_nodes))
    edge_share = len(split.matched) / max(
        1, len(reference.edges) + len(split.extra) + len(reversed_edges)
    )
    share = (node_share + edge_share) / 2
    return Comparison(share, messages)


def either(names: list[str]) -> str:
    """Return ``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _cap(text: str) -> str:
    return "The" + text[3:] if text.startswith("the ") else text
