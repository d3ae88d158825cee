"""Credit for a drawn graph, step by step against the model (docs/DESIGN.md, section 6).

A *step* is one quantity the model computes (``z``, ``h``, ``o``, ``L``, ``s``, ``J``), worth the
number of the reference graph's edges that compute it (the edges into its operators and from
them into it). A step counts when the drawing has that variable once, computes it with an
operator, and, with the variables it reads holding their true values, gets the model's value on
every trial (``graph_eval.local_values``): a mistake is charged to the step where it is made,
not again to the steps after it.

Faults that leave every value right still cost one edge each: a node that does not lead to the
output (a dead end), a variable drawn more than once, an input or parameter that something
points into, a variable drawn as a circle or an operator as a square. The share is
``(edges of the steps that count − faults) / edges of the reference``, at least 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from grader.kinds.graph_compare import either
from grader.kinds.graph_eval import Failed, Macro, local_values, same_value
from grader.kinds.graph_parse import (
    OPERATOR,
    VARIABLE,
    DrawnGraph,
    DrawnNode,
    is_operator_spelling,
    operator_key,
    variable_key,
)

if TYPE_CHECKING:
    from grader.kinds.instances import Trial


@dataclass(frozen=True)
class Step:
    """A quantity the reference computes and the number of reference edges that compute it."""

    name: str
    weight: int


def reference_steps(reference: DrawnGraph) -> list[Step]:
    """Return the steps of a reference drawing, in the order its variables appear."""
    incoming: dict[str, list[str]] = {node_id: [] for node_id in reference.nodes}
    for a, b in reference.edges:
        incoming[b].append(a)
    steps = []
    for node in reference.nodes.values():
        if node.type != VARIABLE or not incoming[node.id]:
            continue
        weight, stack, seen = 0, [node.id], set()
        while stack:
            current = stack.pop()
            for source in incoming[current]:
                weight += 1
                if reference.nodes[source].type == OPERATOR and source not in seen:
                    seen.add(source)
                    stack.append(source)
        steps.append(Step(node.key, weight))
    return steps


@dataclass
class Credit:
    """The share of credit of a drawing and why: steps that count, steps that do not, faults."""

    share: float
    steps: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (diagnosis, sentence)
    fault_nodes: set[str] = field(default_factory=set)  # variable names the faults are about

    @property
    def perfect(self) -> bool:
        """Return True when every step counts and nothing is at fault."""
        return self.share >= 1.0 and not self.messages


def _retyped(drawn: DrawnGraph, names: Mapping[str, str]) -> tuple[DrawnGraph, list[DrawnNode]]:
    """Return the drawing with each node read as what its label names, and the nodes whose
    drawn type was the wrong one (``(z)`` is the variable z, ``[l]`` the loss operator)."""
    known = set(names.values())
    flipped, nodes = [], {}
    for node in drawn.nodes.values():
        core = node.label.split("#", 1)[0].strip()
        as_variable = variable_key(core, names)
        if node.type == OPERATOR and as_variable in known and not is_operator_spelling(core):
            nodes[node.id] = DrawnNode(node.id, node.label, VARIABLE, as_variable)
            flipped.append(node)
        elif node.type == VARIABLE and node.key not in known and is_operator_spelling(core):
            key, constant = operator_key(core)
            nodes[node.id] = DrawnNode(node.id, node.label, OPERATOR, key, constant)
            flipped.append(node)
        else:
            nodes[node.id] = node
    if not flipped:
        return drawn, []
    return DrawnGraph(nodes, list(drawn.edges)), flipped


def _faults(
    drawn: DrawnGraph, flipped: list[DrawnNode], inputs: set[str], output: str
) -> list[tuple[str, str, str]]:
    """Return (diagnosis, sentence, variable name) for each fault; each costs one edge."""
    found = []
    for node in flipped:
        if node.type == OPERATOR:
            found.append(
                (
                    f"type:{node.key}",
                    f"{node.label} is a variable: draw it as a square, not as a circle.",
                    node.key,
                )
            )
        else:
            found.append(
                (
                    f"type:{node.key}",
                    f"{node.label} is an operator: draw it as a circle, not as a square.",
                    node.key,
                )
            )
    counts: dict[str, int] = {}
    for node in drawn.nodes.values():
        if node.type == VARIABLE:
            counts[node.key] = counts.get(node.key, 0) + 1
    for name, count in counts.items():
        for _ in range(count - 1):
            found.append(
                (
                    f"twice:{name}",
                    f"{name} is drawn {count} times: draw each variable once, with an edge to "
                    "every operator that uses it (the gradient with respect to it sums over "
                    "those edges).",
                    name,
                )
            )
    has_input = {b for _, b in drawn.edges}
    has_output = {a for a, _ in drawn.edges}
    for node in drawn.nodes.values():
        if node.type == VARIABLE and node.key in inputs and node.id in has_input:
            found.append(
                (
                    f"input-computed:{node.key}",
                    f"{node.key} is an input of the model: nothing points into it.",
                    node.key,
                )
            )
    for node in drawn.nodes.values():
        if node.id not in has_output and not (node.type == VARIABLE and node.key == output):
            found.append(
                (
                    f"dead-end:{node.key}",
                    f"{drawn.describe_short(node.id)} leads nowhere: every node lies on a path "
                    f"to {output} (connect it or remove it).",
                    node.key,
                )
            )
    return found


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _step_messages(
    wrong: list[str], failures: Mapping[str, tuple[str, str]], sources: list[str]
) -> list[tuple[str, str]]:
    """Return one sentence per kind of failure, naming its steps in the model's order."""
    groups: dict[str, list[str]] = {}
    for name in wrong:
        groups.setdefault(failures[name][0], []).append(name)
    messages = []
    for kind, names in groups.items():
        key, many = f"{'wrong-step' if kind == 'cannot' else kind}:{names[0]}", len(names) > 1
        if kind == "missing-node":
            messages.append(
                (
                    key,
                    f"Your graph has no {either(names)} (drawn as "
                    f"{'squares' if many else 'a square'}): draw every quantity the model "
                    "computes.",
                )
            )
        elif kind == "not-computed":
            messages.append(
                (
                    key,
                    f"{_listed(names)} {'are' if many else 'is'} never computed: nothing points "
                    f"into {'them' if many else 'it'}. Only the inputs and parameters "
                    f"({', '.join(sources)}) have no incoming edge; every other variable is the "
                    "result of an operator.",
                )
            )
        elif kind == "wrong-step":
            messages.append(
                (
                    key,
                    f"{_listed(names)} {'are' if many else 'is'} not computed as the model "
                    f"computes {'them' if many else 'it'} from the variables your graph feeds in.",
                )
            )
        elif kind == "cannot":
            messages += [
                (f"wrong-step:{name}", f"{name} cannot be computed: {failures[name][1]}.")
                for name in names
            ]
    return messages


def _drawing_failures(
    graph: DrawnGraph, steps: list[Step], by_name: Mapping[str, list[str]]
) -> dict[str, tuple[str, str]]:
    """Return the steps the drawing cannot compute: not drawn, drawn twice, never computed."""
    failures: dict[str, tuple[str, str]] = {}
    for step in steps:
        ids = by_name.get(step.name, [])
        if not ids:
            failures[step.name] = ("missing-node", "")
        elif len(ids) > 1:
            failures[step.name] = ("twice", "")  # said by the fault
        elif not any(b == ids[0] for _, b in graph.edges):
            failures[step.name] = ("not-computed", "")
    return failures


def _value_failures(
    graph: DrawnGraph,
    steps: list[Step],
    by_name: Mapping[str, list[str]],
    failed: Mapping[str, tuple[str, str]],
    trials: Iterable[Trial],
    known: set[str],
    macros: Mapping[str, Macro],
    rtol: float,
    atol: float,
) -> dict[str, tuple[str, str]]:
    """Return the other steps whose value is wrong, or cannot be computed, on some trial."""
    failures: dict[str, tuple[str, str]] = {}
    for trial in trials:
        left = [s.name for s in steps if s.name not in failed and s.name not in failures]
        if not left:
            break
        computed = local_values(graph, trial, known, macros)
        for name in left:
            value = computed[by_name[name][0]]
            if isinstance(value, Failed):
                failures[name] = ("cannot", value.reason)
            elif value is None or not same_value(np.asarray(value), trial.values[name], rtol, atol):
                failures[name] = ("wrong-step", "")
    return failures


def judge(
    drawn: DrawnGraph,
    steps: list[Step],
    trials: Iterable[Trial],
    names: Mapping[str, str],
    inputs: list[str],
    output: str,
    macros: Mapping[str, Macro],
    rtol: float,
    atol: float,
) -> Credit:
    """Return the credit of ``drawn`` (see the module docstring).

    ``names`` maps spellings to the exercise's names (variables and model quantities),
    ``inputs`` are the exercise's variables (the only legitimate sources).
    """
    graph, flipped = _retyped(drawn, names)
    faults = _faults(graph, flipped, set(inputs), output)
    known = set(inputs) | {step.name for step in steps}
    by_name: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        if node.type == VARIABLE:
            by_name.setdefault(node.key, []).append(node.id)
    sources = list(inputs)
    failures = _drawing_failures(graph, steps, by_name)
    failures |= _value_failures(graph, steps, by_name, failures, trials, known, macros, rtol, atol)
    total = sum(step.weight for step in steps) or 1
    counted = [step.name for step in steps if step.name not in failures]
    earned = sum(step.weight for step in steps if step.name not in failures) - len(faults)
    messages = _step_messages([s.name for s in steps if s.name in failures], failures, sources)
    messages += [(key, text) for key, text, _ in faults]
    return Credit(
        max(0.0, earned / total),
        [step.name for step in steps],
        counted,
        messages,
        {name for _, _, name in faults},
    )
