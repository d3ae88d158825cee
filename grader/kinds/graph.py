"""The ``graph`` kind: a drawn computational graph, graded by its connections.

Answers are JSON ``{nodes: [{id, label, type}], edges: [[from, to]]}`` or a text edge list
(``[x] -> (matmul); [W1] -> (matmul); (matmul) -> (add#1)``; see ``graph_parse``). The reference
is the engine's trace of the exercise's model (``reference: model``, the default) or a graph
written in the part. ``collapse`` draws a model quantity's whole sub-graph as one operator (the
chapter's ℓ2 circle for ``s``); ``optional`` lists variables a drawing may leave out (λ).

Grading, in order: unreadable drawings (bad format, a cycle, a dangling node, over the size
limits) are invalid and cost no attempt; a labelled isomorphism with the reference scores full
marks; with ``reference: model`` (and ``evaluate``), credit for each step of the model the
drawing computes correctly, less its faults (``graph_credit``, docs/DESIGN.md section 6), full
marks when every step counts and nothing is at fault; a listed mistake is named with its own
feedback. A reference written by hand is scored by node and edge agreement (``graph_compare``).
Feedback names reversed edges, the steps that do not count, the faults, and the missing, extra
and mislabelled pieces.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from cachetools import LRUCache
from pydantic import Field

from grader import engine
from grader.kinds.base import (
    GRADED,
    GradingContext,
    KindBase,
    MistakeText,
    PartResult,
    PartSpec,
    SelfTestCase,
    authored_hint,
    generic_hint,
)
from grader.kinds.graph_compare import (
    Comparison,
    EdgeMarks,
    compare,
    edge_marks,
    feedback_text,
    isomorphic,
)
from grader.kinds.graph_credit import Credit, judge, reference_steps
from grader.kinds.graph_eval import Macro
from grader.kinds.graph_parse import (
    OPERATOR,
    VARIABLE,
    DrawnGraph,
    GraphFormatError,
    is_operator_spelling,
    operator_key,
    parse_graph,
    render_edge_list,
    variable_key,
    vocabulary,
)
from grader.kinds.instances import draw_trials, namespace_for, trials_of
from grader.kinds.registry import get_kind, register
from grader.mathexpr import parse

MAX_PARTIAL_SHARE = 0.95  # a drawing that differs never reaches full marks


def _floor(value: float) -> float:
    return math.floor(value * 100 + 1e-9) / 100


def _merge(credit: Credit, comparison: Comparison) -> list[tuple[str, str]]:
    """Return the feedback of a drawing judged step by step: edges pointing the wrong way
    first, then the steps that do not count and the faults, then where the drawing differs from
    the reference (not repeating a fault) when some step is wrong."""
    reversed_first = [m for m in comparison.messages if m[0] == "reversed-edge"]
    messages = reversed_first + list(credit.messages)
    if len(credit.counted) < len(credit.steps):
        said = {key for key, _ in messages}
        for key, text in comparison.messages:
            name = key.split(":", 1)[1] if ":" in key else ""
            if key in said or name in credit.fault_nodes:
                continue
            messages.append((key, text))
    return messages


def partial_score(points: float, share: float) -> float:
    """Return the points of a drawing that agrees with the reference by ``share`` (0..1).

    The share is squared, so that a few differences cost noticeably, and capped below full
    marks; rounded down to a hundredth.
    """
    value = points * min(share * share, MAX_PARTIAL_SHARE)
    return math.floor(value * 100 + 1e-9) / 100


class GraphMistake(MistakeText):
    """An anticipated wrong drawing (JSON or text form) and what to tell the student."""

    answer: str | dict[str, Any]


class GraphPart(PartSpec):
    """A part answered by drawing a computational graph."""

    kind: Literal["graph"]
    reference: str | dict[str, Any] = Field(
        "model",
        description="`model` (the engine's trace of the model), a JSON graph or an edge list",
    )
    output: str | None = Field(None, description="The model quantity drawn (default: the last)")
    collapse: dict[str, str] = Field(
        default_factory=dict,
        description="Model quantity -> operator label drawn for its whole sub-graph, e.g. "
        "{s: l2} for the chapter's ℓ2 circle",
    )
    optional: list[str] = Field(
        default_factory=list, description="Variables a drawing may leave out, e.g. [lam]"
    )
    evaluate: bool = Field(True, description="Give credit to drawings that compute the same value")
    mistakes: list[GraphMistake] = Field(default_factory=list)


def exercise_names(spec: Any) -> dict[str, str]:
    """Return normalised spelling -> name for the exercise's variables, aliases and quantities."""
    names: dict[str, str] = {}
    for name in list(spec.variables) + list(spec.model):
        names[variable_key(name)] = name
    for name, variable in spec.variables.items():
        for alias in variable.aliases:
            names[variable_key(alias)] = name
    return names


class Reference:
    """A part's reference drawing, with its collapsed quantities, built once per spec."""

    def __init__(self, part: GraphPart, spec: Any) -> None:
        self.spec = spec
        self.names = exercise_names(spec)
        self.macros: dict[str, Macro] = {}
        if part.reference == "model":
            self.output = part.output or list(spec.model)[-1]
            model = draw_trials(spec, seed=0, count=1)[0].model
            if model is None:
                raise ValueError("reference: model needs the exercise's model")
            raw = engine.computational_graph(model[self.output])
            raw = self._collapse(raw, part, spec)
        else:
            self.output = part.output or ""
            raw = None
        self.graph = parse_graph(raw if raw is not None else part.reference, self.names)
        if not self.output:
            sinks = [
                n.key
                for n in self.graph.nodes.values()
                if n.type == VARIABLE and not any(a == n.id for a, _ in self.graph.edges)
            ]
            self.output = sinks[0] if sinks else ""
        self.json = raw if raw is not None else _to_json(self.graph)
        self.steps = reference_steps(without(self.graph, part.optional)) if raw else []

    def _collapse(self, raw: dict[str, Any], part: GraphPart, spec: Any) -> dict[str, Any]:
        nodes = {n["id"]: n for n in raw["nodes"]}
        edges = [tuple(e) for e in raw["edges"]]
        namespace = namespace_for(spec)
        for quantity, label in part.collapse.items():
            target = next(
                i for i, n in nodes.items() if n["type"] == VARIABLE and n["label"] == quantity
            )
            region, inputs, stack = set(), [], [target]
            while stack:
                current = stack.pop()
                for a, b in edges:
                    if b != current or a in region:
                        continue
                    if nodes[a]["type"] == OPERATOR:
                        region.add(a)
                        stack.append(a)
                    elif a not in inputs:
                        inputs.append(a)
            edges = [e for e in edges if e[0] not in region and e[1] not in region]
            for node_id in region:
                del nodes[node_id]
            key = operator_key(label)[0]
            op_id = f"{key}_{quantity}"
            nodes[op_id] = {"id": op_id, "label": key, "type": OPERATOR}
            edges += [(i, op_id) for i in inputs] + [(op_id, target)]
            input_names = frozenset(nodes[i]["label"] for i in inputs)
            self.macros[key] = Macro(
                quantity,
                parse(spec.model[quantity], namespace),
                input_names,
                input_names - set(part.optional),
            )
        return {"nodes": list(nodes.values()), "edges": [list(e) for e in edges]}

    def for_drawing(self, drawn: DrawnGraph, optional: list[str]) -> DrawnGraph:
        """Return the reference without the optional variables the drawing leaves out."""
        present = {n.key for n in drawn.nodes.values()}
        return without(self.graph, [name for name in optional if name not in present])


def without(graph: DrawnGraph, names: list[str]) -> DrawnGraph:
    """Return ``graph`` without the variables called ``names`` and their edges."""
    gone = {n.id for n in graph.nodes.values() if n.type == VARIABLE and n.key in names}
    if not gone:
        return graph
    return DrawnGraph(
        {i: n for i, n in graph.nodes.items() if i not in gone},
        [e for e in graph.edges if e[0] not in gone and e[1] not in gone],
    )


def _to_json(graph: DrawnGraph) -> dict[str, Any]:
    return {
        "nodes": [{"id": n.id, "label": n.key, "type": n.type} for n in graph.nodes.values()],
        "edges": [list(e) for e in graph.edges],
    }


@register
class GraphKind(KindBase):
    """Grades drawn computational graphs against the model's graph."""

    name: ClassVar[str] = "graph"
    part_model: ClassVar[type[PartSpec]] = GraphPart
    private_fields: ClassVar[frozenset[str]] = frozenset(
        {"reference", "mistakes", "collapse", "optional", "output", "evaluate"}
    )

    def mistake_answers(self, part: GraphPart) -> list[str]:
        """Return the answers of the part's listed mistakes, in order."""
        return [str(mistake.answer) for mistake in part.mistakes]

    def __init__(self) -> None:
        self._references: LRUCache[tuple[int, str], tuple[Any, GraphPart, Reference]] = LRUCache(
            maxsize=256
        )
        self._lock = threading.Lock()

    def public(self, part: GraphPart, exercise: Any = None) -> dict[str, Any]:
        """Return the part without its reference, with the names and operator spellings the
        editor reads labels with (the exercise's variables and model quantities)."""
        data = super().public(part, exercise)
        data["vocabulary"] = vocabulary(exercise_names(exercise) if exercise is not None else {})
        return data

    def reference(self, part: GraphPart, spec: Any) -> Reference:
        """Return the part's reference drawing (cached per spec and part)."""
        key = (id(spec), part.id)
        with self._lock:
            cached = self._references.get(key)
        if cached is not None and cached[0] is spec and cached[1] is part:
            return cached[2]
        built = Reference(part, spec)
        with self._lock:
            self._references[key] = (spec, part, built)
        return built

    def check(self, part: GraphPart, exercise: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Return problems: a model reference without a model, unknown names, bad graphs."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if part.reference == "model":
            if not exercise.model:
                return [(("reference",), "reference: model needs the exercise to have a model")]
            if part.output is not None and part.output not in exercise.model:
                problems.append((("output",), f"{part.output!r} is not a model quantity"))
            for quantity, label in part.collapse.items():
                if quantity not in exercise.model:
                    problems.append(
                        (("collapse", quantity), f"{quantity!r} is not a model quantity")
                    )
                elif not is_operator_spelling(label):
                    problems.append((("collapse", quantity), f"{label!r} is not an operator"))
        elif part.collapse:
            problems.append((("collapse",), "collapse applies only to reference: model"))
        for name in part.optional:
            if name not in exercise.variables:
                problems.append((("optional",), f"{name!r} is not a variable of the exercise"))
        if problems:
            return problems
        try:
            reference = self.reference(part, exercise)
        except (GraphFormatError, ValueError) as exc:
            return [(("reference",), f"the reference cannot be read: {exc}")]
        for message in reference.graph.problems():
            problems.append((("reference",), message))
        for index, mistake in enumerate(part.mistakes):
            try:
                drawn = parse_graph(mistake.answer, reference.names)
            except GraphFormatError as exc:
                problems.append((("mistakes", index, "answer"), str(exc)))
                continue
            if isomorphic(without(drawn, part.optional), without(reference.graph, part.optional)):
                problems.append((("mistakes", index, "answer"), "this is the reference graph"))
        return problems

    def grade(self, part: GraphPart, answer: Any, ctx: GradingContext) -> PartResult:
        """Grade a drawn graph (JSON object or text); see the module docstring for the rule."""
        reference = self.reference(part, ctx.exercise)
        try:
            drawn = parse_graph(answer, reference.names)
        except GraphFormatError as exc:
            return PartResult.invalid(part, str(exc))
        problems = drawn.problems()
        if problems:
            return PartResult.invalid(part, " ".join(problems[:3]), "invalid-graph")
        target = reference.for_drawing(drawn, part.optional)
        if isomorphic(drawn, target):
            return PartResult(
                part.id, part.points, part.points, True, "Correct.", GRADED, "correct"
            )
        credit = self._credit(part, drawn, reference, ctx)
        comparison = compare(drawn, target, credit.steps if credit is not None else ())
        if credit is None:  # a reference drawn by hand: credit for structural agreement
            share, messages = comparison.share, comparison.messages
            score = partial_score(part.points, share)
        else:
            share = credit.share
            messages = _merge(credit, comparison)
            score = _floor(part.points * share)
            if credit.perfect:
                return PartResult(
                    part.id,
                    part.points,
                    part.points,
                    True,
                    "Correct: drawn differently from the reference graph, but it computes "
                    f"{', '.join(credit.counted)} as the model does.",
                    GRADED,
                    "equivalent",
                    {"agreement": 1.0},
                )
            score = min(score, _floor(part.points * MAX_PARTIAL_SHARE))
        details: dict[str, Any] = {"agreement": round(share, 3)}
        if credit is not None:
            details["steps"] = credit.counted
        bare = without(drawn, part.optional)
        for index, mistake in enumerate(part.mistakes):
            listed = without(parse_graph(mistake.answer, reference.names), part.optional)
            if isomorphic(bare, listed):
                return PartResult(
                    part.id,
                    score,
                    part.points,
                    False,
                    mistake.feedback,
                    GRADED,
                    f"mistake:{index}",
                    details,
                )
        return PartResult(
            part.id,
            score,
            part.points,
            False,
            feedback_text(messages),
            GRADED,
            messages[0][0] if messages else "different",
            details,
        )

    def _credit(
        self, part: GraphPart, drawn: DrawnGraph, reference: Reference, ctx: GradingContext
    ) -> Credit | None:
        """Return the step-by-step credit, or None for a reference not traced from the model."""
        if part.reference != "model" or not part.evaluate or not ctx.exercise.model:
            return None
        grading = ctx.exercise.grading
        return judge(
            drawn,
            reference.steps,
            trials_of(ctx),
            reference.names,
            list(ctx.exercise.variables),
            reference.output,
            reference.macros,
            grading.rtol,
            grading.atol,
        )

    def hint(self, part: GraphPart, result: Mapping[str, Any]) -> str:
        """Return the hint of a graded drawing: which of the model's quantities the drawing
        computes as the model does (the student's own steps), never the reference's edges."""
        if result.get("correct") or result.get("status") != GRADED:
            return generic_hint(result)
        authored = authored_hint(part.mistakes, str(result.get("diagnosis") or ""))
        if authored is not None:
            return authored
        details = result.get("details") or {}
        steps = details.get("steps") if isinstance(details, Mapping) else None
        text = generic_hint(result)
        if "reversed" in str(result.get("diagnosis") or ""):
            text += " Some edges point the wrong way."
        if steps:
            text += f" Your drawing computes {', '.join(map(str, steps))} as the model does."
        return text + " Look again at which inputs each operator takes."

    def self_test_cases(self, part: GraphPart, exercise: Any) -> list[SelfTestCase]:
        """Return the reference as JSON and as text (correct), and each listed mistake."""
        reference = self.reference(part, exercise)
        cases = [
            SelfTestCase(reference.json, True, label="reference (JSON)"),
            SelfTestCase(render_edge_list(reference.json), True, label="reference (text)"),
        ]
        if reference.graph.edges:
            a, b = reference.graph.edges[0]
            cut = dict(
                reference.json, edges=[e for e in reference.json["edges"] if tuple(e) != (a, b)]
            )
            if not parse_graph(cut, reference.names).problems():
                cases.append(SelfTestCase(cut, False, "not connected", "reference less one edge"))
        for index, mistake in enumerate(part.mistakes):
            cases.append(
                SelfTestCase(mistake.answer, False, mistake.feedback, f"mistake {index + 1}")
            )
        return cases


@dataclass(frozen=True)
class MarkedDrawing:
    """A drawn answer read with the exercise's names, and where its edges differ from the
    reference (what the result pages draw)."""

    drawing: DrawnGraph
    marks: EdgeMarks


def marked_drawing(part: GraphPart, exercise: Any, answer: Any) -> MarkedDrawing | None:
    """Return ``answer`` read as a drawing with its edges marked against the part's reference,
    or None when it cannot be read or graded (the page then draws it unmarked)."""
    kind = get_kind(GraphKind.name)
    if not isinstance(kind, GraphKind):
        raise TypeError(f"the kind {GraphKind.name!r} is not the graph kind")
    reference = kind.reference(part, exercise)
    try:
        drawn = parse_graph(answer, reference.names)
    except GraphFormatError:
        return None
    if drawn.problems():
        return None
    target = reference.for_drawing(drawn, part.optional)
    return MarkedDrawing(drawn, edge_marks(drawn, target))
