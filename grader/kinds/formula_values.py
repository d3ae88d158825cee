"""What the formula kind evaluates: the names a part may use, its parsed reference and
mistakes, and their values on the submission's trials (cached).

Two namespaces per part. Instructors (``reference``) may call ``grad``/``hessian``/``hvp``;
students may not, and may use only the part's allowed names: the variables, the model
quantities (for a forward part named after a model quantity, only those computed before it),
and the ids of earlier formula parts, which are bound to those parts' *reference* values so
that one early mistake is not charged again downstream.

Speed: parsed trees and namespaces are cached per exercise spec object. What is computed on an
instance (gradients, one backward pass per differentiated quantity; each part's reference and
listed-mistake values) is kept in its ``Trial.cache``, which every submission drawing that
instance shares; students' values are kept in ``STUDENT_VALUES`` (``ValueMemo``), so a formula
already graded on an instance is not evaluated again.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

from grader import engine
from grader.kinds.base import GradingContext
from grader.mathexpr import Call, Name, Namespace, Node, evaluate, parse, walk

if TYPE_CHECKING:  # instances imports the spec, which needs every kind registered first
    from grader.kinds.instances import Trial
    from grader.kinds.spec import ExerciseSpec

AUTODIFF = frozenset({"grad", "hessian", "hvp", "jacobian"})
STUDENT_FUNCTIONS = {"l": 2}


@dataclass
class PartPlan:
    """A formula part prepared for grading: namespaces and parsed instructor formulas."""

    part_id: str
    earlier: tuple[str, ...]  # earlier formula parts' ids usable by name
    student_ns: Namespace
    instructor_ns: Namespace
    allowed: tuple[str, ...]
    reference: Node
    answer: Node | None  # the part's `answer` in student notation (None: the reference is one)
    mistakes: list[Node | None] = field(default_factory=list)


@dataclass
class SpecPlan:
    """All formula parts of one exercise spec, prepared once per spec object."""

    spec: ExerciseSpec
    parts: dict[str, PartPlan]
    shapes: dict[str, list[str | int] | None]  # part id -> reference shape in size names
    errors: dict[str, list[tuple[tuple[str | int, ...], str]]]


# Plans per spec object (an entry keeps its spec alive), least recently used out first.
_PLANS: LRUCache[int, SpecPlan] = LRUCache(maxsize=256)
_PLANS_LOCK = threading.Lock()


def _symbolic(shape: tuple[int, ...], sizes: Mapping[str, int]) -> list[str | int] | None:
    by_value = {value: name for name, value in sizes.items()}
    if shape == ():
        return []
    names: list[str | int] = []
    for size in shape:
        if size == 1:
            names.append(1)
        elif size in by_value:
            names.append(by_value[size])
        else:
            return None
    return names[:1] if len(names) == 2 and names[1] == 1 else names


def default_allowed(spec: ExerciseSpec, part_id: str, earlier: tuple[str, ...]) -> list[str]:
    """Return the names a part may use when it lists none: variables, model quantities
    (only those before ``part_id`` when the part is named after a model quantity) and the
    earlier formula parts' ids."""
    model = list(spec.model)
    visible = model[: model.index(part_id)] if part_id in model else model
    return [*spec.variables, *visible, *[e for e in earlier if e not in spec.model]]


def _student_namespace(full: Namespace, allowed: list[str], identity: str | None) -> Namespace:
    variables = {name: full.variables[name] for name in allowed if name in full.variables}
    aliases = {name: list(a) for name, a in full.aliases.items() if name in variables}
    return Namespace(
        variables=variables,
        aliases=aliases,
        sizes=full.sizes,
        functions=dict(STUDENT_FUNCTIONS),
        activations=full.activations,
        identity=identity,
    )


def spec_plan(spec: ExerciseSpec) -> SpecPlan:
    """Return the prepared formula parts of ``spec`` (cached per spec object).

    Parts whose formulas cannot be read are left out and their problems listed in
    ``errors`` (located inside the part), for ``check`` to report.
    """
    from grader.kinds.instances import draw_trials, namespace_for

    with _PLANS_LOCK:
        cached = _PLANS.get(id(spec))
    if cached is not None and cached.spec is spec:
        return cached
    plan = SpecPlan(spec, {}, {}, {})
    probe: Trial | None = None
    probe_values: dict[str, np.ndarray] = {}
    earlier: list[str] = []
    for part in spec.parts:
        if part.kind != "formula":
            continue
        problems = plan.errors.setdefault(part.id, [])
        extra = {pid: plan.shapes[pid] for pid in earlier if pid not in spec.model}
        instructor_ns = namespace_for(spec, extra)
        allowed = (
            list(part.allow)
            if part.allow is not None
            else default_allowed(spec, part.id, tuple(earlier))
        )
        unknown = [n for n in allowed if n not in instructor_ns.variables]
        if unknown:
            problems.append(
                (
                    ("allow",),
                    f"allow names {unknown[0]!r}, which is not a variable, "
                    "a model quantity or an earlier part's id",
                )
            )
            allowed = [n for n in allowed if n not in unknown]
        try:
            reference = parse(part.reference, instructor_ns)
        except ValueError as exc:
            problems.append((("reference",), f"the reference does not parse: {exc}"))
            continue
        if probe is None and spec.model:
            probe = draw_trials(spec, seed=0, count=1)[0]
        shape = None
        if probe is not None:
            try:
                value = _instructor_value(probe, reference, probe_values)
                shape = _symbolic(value.shape, probe.sizes)
                if part.id not in spec.model:
                    probe_values[part.id] = value
            except (ValueError, engine.EngineError) as exc:
                problems.append((("reference",), f"the reference cannot be evaluated: {exc}"))
        square = shape is not None and len(shape) == 2 and shape[0] == shape[1] != 1
        identity = str(shape[0]) if square and shape is not None else None
        student_ns = _student_namespace(instructor_ns, allowed, identity)
        answer = None
        if part.answer is not None:
            try:
                answer = parse(part.answer, student_ns)
            except ValueError as exc:
                problems.append(
                    (
                        ("answer",),
                        f"the answer is not in the students' notation "
                        f"(allowed names: {', '.join(allowed)}): {exc}",
                    )
                )
        mistakes: list[Node | None] = []
        for index, mistake in enumerate(part.mistakes):
            try:
                mistakes.append(parse(mistake.answer, student_ns))
            except ValueError as exc:
                mistakes.append(None)
                problems.append(
                    (
                        ("mistakes", index, "answer"),
                        f"does not parse in the students' notation: {exc}",
                    )
                )
        plan.parts[part.id] = PartPlan(
            part.id,
            tuple(e for e in earlier if e not in spec.model),
            student_ns,
            instructor_ns,
            tuple(allowed),
            reference,
            answer,
            mistakes,
        )
        plan.shapes[part.id] = shape
        earlier.append(part.id)
    with _PLANS_LOCK:
        _PLANS[id(spec)] = plan
    return plan


# -- values on trials -----------------------------------------------------------------------


def _squared_loss(o: np.ndarray, y: np.ndarray) -> np.ndarray:
    if o.shape != y.shape:
        raise ValueError("l(o, y) needs o and y of the same shape")
    return np.asarray(np.sum((o - y) ** 2))


def trial_functions(trial: Trial) -> dict[str, Any]:
    """Return the functions a student's formula may call on ``trial`` (phi bound, ``l``)."""
    functions: dict[str, Any] = dict(trial.functions)
    functions["l"] = _squared_loss
    return functions


def _grads(trial: Trial, of: str, cache: dict[str, Any]) -> dict[str, np.ndarray]:
    """dJ/d(every node) for the scalar quantity ``of``, in one backward pass per trial."""
    key = f"grads:{of}"
    if key not in cache:
        model = trial.model
        if model is None:
            raise ValueError("grad needs a model")
        names = [n for n in model.nodes if n != of]
        values = engine.grad(model[of], [model[n] for n in names])
        cache[key] = dict(zip(names, values, strict=True))
    return cache[key]


def _instructor_value(
    trial: Trial,
    tree: Node,
    extra: Mapping[str, np.ndarray],
    cache: dict[str, Any] | None = None,
) -> np.ndarray:
    """Evaluate an instructor formula on a trial: model names and ``grad(J, w)`` by lookup,
    formulas without autodiff by the numpy evaluator, the rest through the engine."""
    cache = cache if cache is not None else {}
    if isinstance(tree, Name) and tree.name in trial.values:
        return trial.values[tree.name]
    names = [a.name for a in tree.args if isinstance(a, Name)] if isinstance(tree, Call) else []
    if (
        isinstance(tree, Call)
        and tree.name == "grad"
        and trial.model is not None
        and len(names) == len(tree.args)
        and names[0] in trial.model.nodes
        and names[1] in trial.model.nodes
        and np.ndim(trial.values[names[0]]) == 0
    ):
        return np.asarray(_grads(trial, names[0], cache)[names[1]])
    if not any(isinstance(n, Call) and n.name in AUTODIFF for n in walk(tree)):
        values = {**trial.values, **extra}
        return evaluate(tree, values, trial_functions(trial), sizes=trial.sizes)
    return trial.engine_value(tree, extra)


def trials_of(ctx: GradingContext) -> list[Trial]:
    """Return the submission's trials (``instances.trials_of``, imported late)."""
    from grader.kinds.instances import trials_of as shared_trials

    return shared_trials(ctx)


def earlier_values(
    ctx: GradingContext, plan: SpecPlan, part_id: str
) -> list[dict[str, np.ndarray]]:
    """Return, per trial, the earlier parts' reference values by part id."""
    names = plan.parts[part_id].earlier
    per_trial: list[dict[str, np.ndarray]] = [{} for _ in trials_of(ctx)]
    for name in names:
        for index, value in enumerate(reference_values(ctx, plan, name)):
            per_trial[index][name] = value
    return per_trial


def reference_values(ctx: GradingContext, plan: SpecPlan, part_id: str) -> list[np.ndarray]:
    """Return the part's reference value on each trial (computed once per instance)."""
    key = f"formula:reference:{part_id}"
    if key not in ctx.cache:
        reference = plan.parts[part_id].reference
        ctx.cache[key] = _on_instances(
            ctx,
            plan,
            part_id,
            key,
            lambda trial, extra: _read_only(
                _instructor_value(trial, reference, extra, trial.cache)
            ),
        )
    return ctx.cache[key]


def _on_instances(
    ctx: GradingContext,
    plan: SpecPlan,
    part_id: str,
    key: str,
    compute: Callable[[Trial, dict[str, np.ndarray]], Any],
) -> list[Any]:
    """Return ``compute(trial, earlier parts' reference values)`` for each trial, computed once
    per instance: kept under ``key`` in ``Trial.cache``, which every submission drawing that
    instance shares."""
    trials = trials_of(ctx)
    missing = [i for i, trial in enumerate(trials) if key not in trial.cache]
    extras = earlier_values(ctx, plan, part_id) if missing and plan.parts[part_id].earlier else None
    for i in missing:
        trials[i].cache[key] = compute(trials[i], extras[i] if extras else {})
    return [trial.cache[key] for trial in trials]


def _read_only(value: Any) -> np.ndarray:
    array = np.asarray(value)
    array.setflags(write=False)
    return array


class ValueMemo:
    """The values of students' formulas on instances, most recently used kept (thread-safe).

    An answer's value on an instance depends only on its parsed tree, the part (whose earlier
    parts' reference values it may name) and the instance, so an answer many students write
    is evaluated once per instance and process. Keys hold the tree and the instance by identity
    (the parse cache hands out one tree per text; an instance is known by its ``Trial.cache``,
    which the trials drawn from it share), and each entry keeps both alive, so an id is never
    reused while it is a key. Bounded by entries and by the bytes of the values.
    """

    def __init__(self, max_entries: int = 20_000, max_bytes: int = 32 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[
            tuple[int, int, str], tuple[Node, dict[str, Any], np.ndarray]
        ] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tree: Node, trial: Trial, part_id: str) -> np.ndarray | None:
        key = (id(tree), id(trial.cache), part_id)
        with self._lock:
            entry = self._entries.get(key)  # its objects are alive: the ids are theirs
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, tree: Node, trial: Trial, part_id: str, value: np.ndarray) -> None:
        if value.nbytes > self.max_bytes // 64:
            return  # a large value would push out many small ones
        key = (id(tree), id(trial.cache), part_id)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[2].nbytes
            self._entries[key] = (tree, trial.cache, value)
            self.bytes += value.nbytes
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                self.bytes -= self._entries.popitem(last=False)[1][2].nbytes

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


STUDENT_VALUES = ValueMemo()


def student_values(
    ctx: GradingContext, plan: SpecPlan, part_id: str, tree: Node
) -> list[np.ndarray]:
    """Evaluate a student's tree on every trial; raises the formula language's errors.

    Values are read-only and kept in ``STUDENT_VALUES`` (a shape or limit error is not kept:
    it is raised on the first trial, before much work is done)."""
    part = plan.parts[part_id]
    trials = trials_of(ctx)
    refs = reference_values(ctx, plan, part_id)  # their shapes guide prod(...)
    results: list[np.ndarray] = []
    extras = None
    for index, trial in enumerate(trials):
        value = STUDENT_VALUES.get(tree, trial, part_id)
        if value is None:
            if extras is None and part.earlier:
                extras = earlier_values(ctx, plan, part_id)
            values = {**trial.values, **extras[index]} if extras else trial.values
            want = refs[index].shape if refs[index].ndim == 2 else None
            value = _read_only(
                evaluate(tree, values, trial_functions(trial), sizes=trial.sizes, expect=want)
            )
            STUDENT_VALUES.put(tree, trial, part_id, value)
        results.append(value)
    return results


def mistake_values(
    ctx: GradingContext, plan: SpecPlan, part_id: str, index: int
) -> list[np.ndarray] | None:
    """Return a listed mistake's values per trial (computed once per instance), or None when it
    has none (a shape error on some trial)."""
    key = f"formula:mistake:{part_id}:{index}"
    if key not in ctx.cache:
        tree = plan.parts[part_id].mistakes[index]
        if tree is None:  # it does not parse: the load-time check said so
            ctx.cache[key] = None
            return None

        def value(trial: Trial, extra: dict[str, np.ndarray]) -> np.ndarray | None:
            given = {**trial.values, **extra}
            try:
                return _read_only(evaluate(tree, given, trial_functions(trial), sizes=trial.sizes))
            except ValueError:
                return None  # the mistake cannot be evaluated on this instance

        values = _on_instances(ctx, plan, part_id, key, value)
        ctx.cache[key] = None if any(v is None for v in values) else values
    return ctx.cache[key]


def as_reference_shape(value: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Return ``value`` reshaped where the shapes are equivalents: a 1×1 matrix for a scalar."""
    if value.shape == (1, 1) and reference.shape == ():
        return value.reshape(())
    return value


def norm(array: np.ndarray) -> float:
    """Return the Euclidean (Frobenius) norm as ``np.linalg.norm`` computes it, sqrt(x·x),
    without its argument handling (grading calls this dozens of times per submission)."""
    flat = array.ravel()
    return math.sqrt(float(flat @ flat))


def close(value: np.ndarray, reference: np.ndarray, rtol: float, atol: float) -> bool:
    """True when the shapes agree, the distance is finite (so is every entry of ``value``)
    and ||value − reference|| <= atol + rtol·||reference||."""
    value = as_reference_shape(value, reference)
    if value.shape != reference.shape:
        return False
    distance = norm(value - reference)
    return math.isfinite(distance) and distance <= atol + rtol * norm(reference)


def all_close(
    values: Sequence[np.ndarray], references: Sequence[np.ndarray], rtol: float, atol: float
) -> bool:
    """True when ``close`` holds trial by trial (the sequences have one value per trial)."""
    return all(close(v, r, rtol, atol) for v, r in zip(values, references, strict=True))


def node_evaluator(
    ctx: GradingContext, plan: SpecPlan, part_id: str
) -> Callable[[Node], list[np.ndarray] | None]:
    """Return a function evaluating any tree in the part's names on every trial (values not
    kept), or giving None when the tree cannot be evaluated on some trial; for diagnoses that
    try pieces and variants of an answer."""
    trials = trials_of(ctx)
    extras = earlier_values(ctx, plan, part_id) if plan.parts[part_id].earlier else None
    settings = [
        (
            {**trial.values, **extras[index]} if extras else trial.values,
            trial_functions(trial),
            trial.sizes,
        )
        for index, trial in enumerate(trials)
    ]

    def values_of(tree: Node) -> list[np.ndarray] | None:
        results = []
        for values, functions, sizes in settings:
            try:
                results.append(evaluate(tree, values, functions, sizes=sizes))
            except ValueError:
                return None
        return results

    return values_of
