"""Reading drawn computational graphs: JSON or a text edge list -> one ``DrawnGraph``.

JSON: ``{"nodes": [{"id", "label", "type"}], "edges": [[from, to], ...]}``. ``type`` is
``variable`` or ``operator``; the chapter's drawing convention is accepted too (``square``/``box``
for a variable, ``circle`` for an operator). A missing type is inferred from the label.

Text: statements separated by ``;`` or new lines, each a chain ``a -> b -> c`` (``→`` works
too). ``[x]`` is a variable (a square), ``(matmul)`` an operator (a circle); a bare name is a
variable when the exercise declares it and an operator when it spells one (``+``, ``matmul``,
``φ``, ``l2`` ...). A name used twice is the same node; repeated operators are told apart by a
``#`` suffix: ``matmul#1``, ``matmul#2``. A number after an operator's name is its constant
operand: ``pow 2``, ``/ 2``.

A one-character operator spelling must match exactly (``L`` is a variable, ``l`` the loss);
longer ones match in any case (``Tanh``, ``L2``). ``vocabulary`` gives the web editor the
exercise's names and these spellings, so that it types bare names as this module does.

Labels are normalised so that ``W1``/``W_1``/``W^(1)``/``W₁`` and ``×``/``*``/``@``/``matmul``/
``·`` compare equal. ``DrawnGraph.problems()`` finds what makes a drawing unreadable (a cycle, a
node with no connection, an operator without input or output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import networkx as nx

MAX_NODES = 200
MAX_EDGES = 600
MAX_LABEL = 40
MAX_TEXT = 20_000

VARIABLE, OPERATOR = "variable", "operator"
TYPE_WORDS = {
    "variable": VARIABLE,
    "var": VARIABLE,
    "square": VARIABLE,
    "box": VARIABLE,
    "rect": VARIABLE,
    "rectangle": VARIABLE,
    "operator": OPERATOR,
    "op": OPERATOR,
    "circle": OPERATOR,
    "ellipse": OPERATOR,
    "oval": OPERATOR,
}

# Spellings of each operator -> the engine's label (grader.engine.graph.op_label).
_OPERATOR_SPELLINGS = {
    "matmul": (
        "matmul",
        "×",
        "*",
        "@",
        "·",
        "⋅",
        "dot",
        "mm",
        "matrix product",
        "times",
        "\\times",
        "\\cdot",
        "prod",
    ),
    "mul": ("mul", "⊙", "∘", "hadamard", "elementwise", "\\odot", "multiply"),
    "add": ("add", "+", "plus", "add_bias", "sum2"),
    "sub": ("sub", "-", "−", "minus", "subtract"),
    "div": ("div", "/", "÷", "divide"),
    "pow": ("pow", "^", "**", "power", "square", "²", "sq"),
    "neg": ("neg", "negate"),
    "phi": ("phi", "φ", "ϕ", "\\phi", "\\varphi", "activation", "act"),
    "l": ("l", "ℓ", "\\ell", "loss", "squared_loss", "lossfn"),
    "norm": (
        "norm",
        "ℓ2",
        "l2",
        "ℓ_2",
        "l_2",
        "ℓ₂",
        "l₂",
        "\\ell_2",
        "frobenius",
        "penalty",
        "‖‖",
        "||",
        "reg",
        "regularizer",
        "regulariser",
        "regularization",
    ),
    "transpose": ("transpose", "ᵀ", "^t"),
    "sum": ("sum", "Σ", "∑", "\\sum", "reduce_sum"),
    "mean": ("mean", "avg", "average"),
    "tanh": ("tanh",),
    "sigmoid": ("sigmoid",),
    "relu": ("relu",),
    "softplus": ("softplus",),
    "exp": ("exp",),
    "log": ("log", "ln"),
    "sqrt": ("sqrt", "√"),
    "abs": ("abs",),
    "dphi": ("dphi", "φ'", "phi'", "φ′", "phi′"),
    "identity": ("id", "identity"),
}
OPERATOR_LABELS: dict[str, str] = {
    spelling: label for label, spellings in _OPERATOR_SPELLINGS.items() for spelling in spellings
}
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹", "01234567890123456789")
_GREEK = {"λ": "lam", "lambda": "lam", "\\lambda": "lam", "θ": "theta"}
_DECORATION = re.compile(r"\\(?:mathbf|boldsymbol|mathrm|bm|vec)\s*")
_NUMBER = re.compile(r"^(.*?)\s*([-+]?\d+(?:\.\d+)?)$")


class GraphFormatError(ValueError):
    """Raised for an answer that cannot be read as a graph; the message says how to fix it."""


def variable_key(label: str, aliases: Mapping[str, str] = MappingProxyType({})) -> str:
    """Return the comparison key of a variable label: ``W_1``, ``W^(1)``, ``W₁`` -> ``W1``.

    ``aliases`` maps other spellings (already normalised, e.g. ``λ``) to the exercise's name.
    """
    text = _DECORATION.sub("", label.strip().strip("$")).translate(_SUBSCRIPTS)
    text = re.sub(r"[\s_^{}()⁽⁾₍₎\[\]]", "", text)
    aliases = dict(aliases)
    return aliases.get(text, _GREEK.get(text, text))


def _spelled(text: str) -> str | None:
    """Return the engine label ``text`` spells: exactly, or in any case when it is longer than
    one character (``Tanh``, ``L2``), so that the single letter ``L`` is never the loss ``l``."""
    found = OPERATOR_LABELS.get(text)
    if found is None and len(text) > 1:
        found = OPERATOR_LABELS.get(text.lower())
    return found


def operator_key(label: str) -> tuple[str, float | None]:
    """Return (the engine label, a constant operand or None) of an operator label.

    Unknown spellings are kept as written (``(L)`` is not the loss ``l``), so that feedback can
    quote them.
    """
    known, constant = _operator(label)
    if known is not None:
        return known, constant
    return _DECORATION.sub("", label.strip().strip("$")).strip(), None


def _operator(label: str) -> tuple[str | None, float | None]:
    """Return (the engine label or None when ``label`` spells no operator, its constant)."""
    text = _DECORATION.sub("", label.strip().strip("$")).strip()
    constant = None
    if _spelled(text) is None:
        match = _NUMBER.match(text)
        if match and match.group(1).strip():
            head = match.group(1).strip()
            if _spelled(head) is not None or head in ("^", "/", "*"):
                text, constant = head, float(match.group(2))
    if text in ("^2", "²"):
        return "pow", 2.0
    return _spelled(text), constant


def is_operator_spelling(label: str) -> bool:
    """Return True when ``label`` spells a known operator (``+``, ``matmul``, ``pow 2``)."""
    return _operator(label)[0] is not None


def vocabulary(names: Mapping[str, str]) -> dict[str, Any]:
    """Return what the graph editor needs to read names as the server does: the exercise's
    names (normalised spelling -> name), the Greek spellings, and the operator spellings.

    The editor (``graph-editor.js``) types a bare label with the same rule as ``_make_node``:
    an exercise name is a variable, else an operator spelling is an operator, else a variable.
    """
    return {
        "names": dict(sorted(dict(names).items())),
        "greek": dict(_GREEK),
        "operators": sorted(OPERATOR_LABELS),
    }


@dataclass
class DrawnNode:
    """One node of a drawn graph: its id, its label as written, its type and comparison key."""

    id: str
    label: str
    type: str
    key: str
    constant: float | None = None


@dataclass
class DrawnGraph:
    """A drawn graph: nodes by id and directed edges, in the order they were given."""

    nodes: dict[str, DrawnNode] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def digraph(self) -> nx.DiGraph:
        """Return a networkx DiGraph whose nodes carry ``type`` and ``key``."""
        graph = nx.DiGraph()
        for node in self.nodes.values():
            graph.add_node(node.id, type=node.type, key=node.key)
        graph.add_edges_from(self.edges)
        return graph

    def describe(self, node_id: str) -> str:
        """Return a node as feedback names it: a variable by its label, an operator in context."""
        node = self.nodes[node_id]
        if node.type == VARIABLE:
            return node.key
        outputs = [b for a, b in self.edges if a == node_id]
        produced = [self.nodes[b].key for b in outputs if self.nodes[b].type == VARIABLE]
        if produced:
            return f"the {node.key} that produces {produced[0]}"
        inputs = [self.nodes[a].key for a, b in self.edges if b == node_id]
        if inputs:
            return f"the {node.key} of {', '.join(sorted(inputs))}"
        return f"the {node.key}"

    def problems(self) -> list[str]:
        """Return why this drawing cannot be graded (empty when it can)."""
        if not self.nodes:
            return ["The graph is empty: draw the variables and operators and connect them."]
        graph = self.digraph()
        found = []
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = []
        if cycle:
            path = " → ".join(
                [self.describe_short(a) for a, _ in cycle] + [self.describe_short(cycle[0][0])]
            )
            found.append(
                f"The graph has a cycle ({path}); a computational graph flows one way, "
                "from the inputs to J. If two different operators share a name, number "
                "them: add#1, add#2."
            )
        for node in self.nodes.values():
            ins, outs = graph.in_degree(node.id), graph.out_degree(node.id)
            name = self.describe_short(node.id)
            if ins == 0 and outs == 0:
                found.append(f"{name} is not connected to anything; connect it or remove it.")
            elif node.type == OPERATOR and ins == 0:
                found.append(f"The operator {name} has no inputs; draw the edges into it.")
            elif node.type == OPERATOR and outs == 0:
                found.append(
                    f"The operator {name} has no output; an operator's result goes to "
                    "a variable or to another operator."
                )
        for a, b in self.edges:
            if a == b:
                found.append(f"{self.describe_short(a)} has an edge to itself.")
        return found

    def describe_short(self, node_id: str) -> str:
        """Return a node's label as written, with its ``#`` tag for a repeated operator."""
        node = self.nodes[node_id]
        return node.label if node.type == VARIABLE else f"({node.label})"


def _check_label(label: Any, where: str) -> str:
    if not isinstance(label, str | int | float) or isinstance(label, bool):
        raise GraphFormatError(f"{where}: a label must be text.")
    text = str(label).strip()
    if not text:
        raise GraphFormatError(f"{where}: the label is empty.")
    if len(text) > MAX_LABEL:
        raise GraphFormatError(f"{where}: the label is longer than {MAX_LABEL} characters.")
    return text


def _make_node(node_id: str, label: str, type_: str | None, names: Mapping[str, str]) -> DrawnNode:
    label_core = label.split("#", 1)[0].strip() or label
    if type_ is None:
        as_variable = variable_key(label_core, names)
        if as_variable in names.values():
            type_ = VARIABLE
        else:
            type_ = OPERATOR if is_operator_spelling(label_core) else VARIABLE
    if type_ == OPERATOR:
        key, constant = operator_key(label_core)
        return DrawnNode(node_id, label, OPERATOR, key, constant)
    return DrawnNode(node_id, label, VARIABLE, variable_key(label_core, names))


def parse_graph(answer: Any, names: Mapping[str, str] = MappingProxyType({})) -> DrawnGraph:
    """Read a graph answer: a JSON object, a JSON string, or a text edge list.

    ``names`` maps normalised spellings (aliases included) to the exercise's variable and model
    names, so that bare names in the text form are recognised as variables. Raises
    ``GraphFormatError`` with a message for the student; enforces the size limits.
    """
    names = dict(names)
    if isinstance(answer, str):
        text = answer.strip()
        if len(text) > MAX_TEXT:
            raise GraphFormatError(f"The answer is longer than {MAX_TEXT} characters.")
        if text.startswith("{"):
            try:
                answer = json.loads(text)
            except json.JSONDecodeError as exc:
                raise GraphFormatError(
                    f"The answer starts with {{ but is not valid JSON ({exc.msg} at character "
                    f"{exc.pos}). Write JSON, or an edge list such as `x -> matmul; W1 -> matmul`."
                ) from None
        else:
            return parse_edge_list(text, names)
    if isinstance(answer, Mapping):
        return _parse_json(answer, names)
    raise GraphFormatError(
        "Give the graph as JSON {nodes: [...], edges: [[from, to], ...]} or as an edge list "
        "such as `x -> matmul; W1 -> matmul; matmul -> add`."
    )


def _parse_json(answer: Mapping[str, Any], names: Mapping[str, str]) -> DrawnGraph:
    nodes, edges = answer.get("nodes"), answer.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise GraphFormatError("The JSON graph needs a list `nodes` and a list `edges`.")
    if len(nodes) > MAX_NODES or len(edges) > MAX_EDGES:
        raise GraphFormatError(
            f"The graph is too large: at most {MAX_NODES} nodes and {MAX_EDGES} edges."
        )
    graph = DrawnGraph()
    for index, item in enumerate(nodes):
        where = f"node {index + 1}"
        if not isinstance(item, Mapping):
            raise GraphFormatError(f"{where}: each node is an object with id, label and type.")
        label = _check_label(item.get("label", item.get("id")), where)
        node_id = _check_label(item.get("id", label), where)
        if node_id in graph.nodes:
            raise GraphFormatError(f"{where}: the id {node_id!r} is used twice.")
        raw_type = item.get("type")
        type_ = None
        if raw_type is not None:
            type_ = TYPE_WORDS.get(str(raw_type).strip().lower())
            if type_ is None:
                raise GraphFormatError(
                    f"{where} ({label}): type must be variable (a square) or operator (a circle)."
                )
        graph.nodes[node_id] = _make_node(node_id, label, type_, names)
    seen = set()
    for index, edge in enumerate(edges):
        if (
            not isinstance(edge, list | tuple)
            or len(edge) != 2
            or not all(isinstance(end, str | int) for end in edge)
        ):
            raise GraphFormatError(f"edge {index + 1}: each edge is a pair [from, to] of node ids.")
        a, b = (str(end) for end in edge)
        for end in (a, b):
            if end not in graph.nodes:
                raise GraphFormatError(f"edge {index + 1} names {end!r}, which is not a node id.")
        if (a, b) not in seen:
            seen.add((a, b))
            graph.edges.append((a, b))
    return graph


_ARROW = re.compile(r"\s*(?:->|→|⟶|=>)\s*")


def parse_edge_list(text: str, names: Mapping[str, str] = MappingProxyType({})) -> DrawnGraph:
    """Read the text form (``x -> matmul#1; W1 -> matmul#1; matmul#1 -> add``).

    Raises ``GraphFormatError`` naming the statement that cannot be read.
    """
    graph = DrawnGraph()
    seen: set[tuple[str, str]] = set()
    statements = [s.strip() for s in re.split(r"[;\n]", text)]
    for number, statement in enumerate(statements, 1):
        if not statement or statement.startswith("%"):
            continue
        parts = _ARROW.split(statement)
        if len(parts) < 2 or any(not p for p in parts):
            raise GraphFormatError(
                f"Statement {number} ({statement[:60]!r}) is not an edge: write `from -> to`, "
                "statements separated by ; or new lines."
            )
        ids = [_text_node(graph, token, names, number) for token in parts]
        for a, b in zip(ids, ids[1:], strict=False):
            if (a, b) not in seen:
                seen.add((a, b))
                graph.edges.append((a, b))
                if len(graph.edges) > MAX_EDGES:
                    raise GraphFormatError(f"The graph is too large: at most {MAX_EDGES} edges.")
    if not graph.nodes:
        raise GraphFormatError("The edge list is empty: write edges such as `x -> matmul`.")
    return graph


def _text_node(graph: DrawnGraph, token: str, names: Mapping[str, str], number: int) -> str:
    type_ = None
    if len(token) >= 2 and token[0] == "[" and token[-1] == "]":
        token, type_ = token[1:-1].strip(), VARIABLE
    elif len(token) >= 2 and token[0] == "(" and token != "()":
        match = re.fullmatch(r"\((.+)\)\s*(#\w+)?", token)
        if match:  # (pow 2) or (pow 2)#1
            token, type_ = match.group(1).strip() + (match.group(2) or ""), OPERATOR
    label = _check_label(token, f"statement {number}")
    node = _make_node(label, label, type_, names)
    tag = label.split("#", 1)[1].strip() if "#" in label else ""
    node.id = node.key if node.type == VARIABLE else f"({node.key}{'#' + tag if tag else ''})"
    existing = graph.nodes.get(node.id)
    if existing is not None:
        return existing.id
    clash = f"({node.key})" if node.type == VARIABLE else node.key
    if type_ is not None and clash in graph.nodes:
        raise GraphFormatError(
            f"Statement {number}: {label} is drawn both as a variable [..] and as an "
            "operator (..); give them different names."
        )
    if len(graph.nodes) >= MAX_NODES:
        raise GraphFormatError(f"The graph is too large: at most {MAX_NODES} nodes.")
    graph.nodes[node.id] = node
    return node.id


def render_edge_list(graph: Mapping[str, Any]) -> str:
    """Return a JSON graph in the text form: operators in parentheses, numbered when repeated."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    counts: dict[str, int] = {}
    for node in nodes.values():
        if node["type"] == OPERATOR:
            counts[node["label"]] = counts.get(node["label"], 0) + 1
    seen: dict[str, int] = {}
    names: dict[str, str] = {}
    for node_id, node in nodes.items():
        if node["type"] == VARIABLE:
            names[node_id] = f"[{node['label']}]"
        else:
            seen[node["label"]] = seen.get(node["label"], 0) + 1
            tag = f"#{seen[node['label']]}" if counts[node["label"]] > 1 else ""
            names[node_id] = f"({node['label']}{tag})"
    return "; ".join(f"{names[a]} -> {names[b]}" for a, b in graph["edges"])
