"""Random instances of an exercise: the trials every numeric kind grades on.

A trial fixes the sizes (distinct from each other and >= 2, different between trials where the
ranges allow), the functions (``phi`` cycles through the exercise's choices, so an answer that
holds for one activation only is caught), the values of the variables, and the model's forward
pass in the reference engine. The submission's seed picks its trials among a pool of instances
of the exercise (each drawn from its own number), so a regrade reproduces them. An instance is
traced once per process and shared, read-only, with what was computed on it (``Trial.cache``:
gradients, reference values); the trials of one submission are shared by its parts
(``GradingContext.cache``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from cachetools import LRUCache

from grader import engine
from grader.kinds.base import GradingContext
from grader.kinds.spec import ExerciseSpec
from grader.mathexpr import Namespace, evaluate, parse
from grader.mathexpr.to_engine import build_model, to_engine

CALLER_FUNCTIONS = {"l": 2, "grad": 2, "hessian": 2, "hvp": 3, "jacobian": 2}
_MAX_DRAWS = 500
# Random instances per exercise spec; each submission's seed picks its trials among them, so
# instances are traced (and their reference values computed) once per process, not per
# submission. With one activation to cycle through, 256 instances give about 10^10 sets of
# five trials.
POOL_SIZE = 256


@dataclass
class Trial:
    """One random instance: sizes, bound functions, input values and the traced model."""

    index: int
    sizes: dict[str, int]
    functions: dict[str, str]
    inputs: dict[str, np.ndarray]
    model: engine.Model | None
    values: dict[str, np.ndarray] = field(default_factory=dict)
    # What was computed on this instance (reference values, gradients), shared by every
    # submission whose trials include it.
    cache: dict[str, Any] = field(default_factory=dict)

    def ops(self) -> Any:
        """Return the engine's op table with this trial's activation bound to ``phi``."""
        return engine.ops_table(phi=self.functions.get("phi", "tanh"))

    def engine_value(
        self, tree: Any, extra: Mapping[str, np.ndarray] = MappingProxyType({})
    ) -> np.ndarray:
        """Evaluate a parsed instructor formula through the engine (``grad``/``hessian``/
        ``hvp`` allowed) on this trial: the model's named nodes (or, without a model, the
        inputs), plus ``extra`` names bound as constants."""
        nodes: dict[str, Any] = (
            dict(self.model.nodes)
            if self.model
            else {name: engine.leaf(value, name) for name, value in self.inputs.items()}
        )
        nodes.update({name: engine.const(value) for name, value in dict(extra).items()})
        node = to_engine(tree, nodes, ops=self.ops(), sizes=self.sizes)
        return np.asarray(node.value, dtype=np.float64)

    def describe_sizes(self) -> str:
        """Return the sizes as ``d=3, h=5, q=2`` for feedback."""
        return ", ".join(f"{name}={value}" for name, value in self.sizes.items())


def namespace_for(
    spec: ExerciseSpec,
    extra: Mapping[str, list[str | int] | None] = MappingProxyType({}),
    *,
    with_model_shapes: bool = True,
) -> Namespace:
    """Return the namespace formulas of ``spec`` are read against.

    Variables (with their YAML aliases), model quantities (shapes from the first trial where
    known; unknown with ``with_model_shapes=False``, which is how that first trial is read),
    the sizes, the activations, ``l``/``grad``/``hessian``/``hvp``, and ``extra`` names
    (earlier parts' ids, bound to their reference values).
    """
    variables: dict[str, list[str | int] | None] = {
        name: list(v.shape) for name, v in spec.variables.items()
    }
    if with_model_shapes:
        variables.update(model_shapes(spec))
    else:
        variables.update({name: None for name in spec.model})
    variables.update(dict(extra))
    aliases = {name: list(v.aliases) for name, v in spec.variables.items() if v.aliases}
    return Namespace(
        variables=variables,
        aliases=aliases,
        sizes=tuple(spec.dims),
        functions=dict(CALLER_FUNCTIONS),
        activations=tuple(spec.functions),
    )


# Per process, keyed by _model_key; least recently used out first.
_SHAPES_CACHE: LRUCache[str, dict[str, list[str | int] | None]] = LRUCache(maxsize=512)
_MODEL_CACHE: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=256)
_LOCK = threading.Lock()


def _model_key(spec: ExerciseSpec) -> str:
    """Return a key for everything that reading and tracing the model depends on."""
    data = {
        "model": spec.model,
        "variables": {n: [v.shape, v.aliases] for n, v in spec.variables.items()},
        "dims": sorted(spec.dims),
        "functions": sorted(spec.functions),
    }
    return json.dumps(data, sort_keys=True, default=str)


def parsed_model(spec: ExerciseSpec, namespace: Namespace) -> dict[str, Any]:
    """Return the model's formulas parsed once per distinct model (trials reuse the trees)."""
    key = _model_key(spec)
    with _LOCK:
        trees = _MODEL_CACHE.get(key)
    if trees is None:
        trees = {name: parse(str(text), namespace) for name, text in spec.model.items()}
        with _LOCK:
            _MODEL_CACHE[key] = trees
    return trees


def model_shapes(spec: ExerciseSpec) -> dict[str, list[str | int] | None]:
    """Return each model quantity's shape in size names (None where it cannot be told)."""
    key = _model_key(spec)
    with _LOCK:
        known = _SHAPES_CACHE.get(key)
    if known is not None:
        return known
    shapes: dict[str, list[str | int] | None] = {name: None for name in spec.model}
    if spec.model:
        trial = draw_trials(
            spec, seed=0, count=1, base_namespace=namespace_for(spec, with_model_shapes=False)
        )[0]
        by_value = {value: name for name, value in trial.sizes.items()}
        for name in spec.model:
            shapes[name] = _symbolic(trial.values[name].shape, by_value)
    with _LOCK:
        _SHAPES_CACHE[key] = shapes
    return shapes


def _symbolic(shape: tuple[int, ...], by_value: dict[int, str]) -> list[str | int] | None:
    if shape == ():
        return []
    names: list[str | int] = []
    for size in shape:
        if size in by_value:
            names.append(by_value[size])
        elif size == 1:
            names.append(1)
        else:
            return None
    if len(names) == 2 and names[1] == 1:
        return names[:1]  # a column vector
    return names


def draw_sizes(
    spec: ExerciseSpec, rng: np.random.Generator, used: set[tuple[int, ...]]
) -> dict[str, int]:
    """Draw one trial's sizes: each in its range (raised to >= 2 where the range allows),
    distinct from each other, and a combination not in ``used`` when possible."""
    names = list(spec.dims)
    if not names:
        return {}
    bounds = []
    for name in names:
        low, high = spec.dims[name]
        bounds.append((max(low, 2) if high >= 2 else low, high))
    best: tuple[int, ...] | None = None
    for _ in range(_MAX_DRAWS):
        combo = tuple(int(rng.integers(low, high + 1)) for low, high in bounds)
        if len(set(combo)) == len(combo):
            best = combo
            if combo not in used:
                break
    if best is None:  # the ranges cannot give distinct sizes: take what they give
        best = tuple(int(rng.integers(low, high + 1)) for low, high in bounds)
    used.add(best)
    return dict(zip(names, best, strict=True))


def draw_trials(
    spec: ExerciseSpec, seed: int, count: int | None = None, base_namespace: Namespace | None = None
) -> list[Trial]:
    """Return the trials of ``spec`` for ``seed`` (``grading.trials`` of them by default).

    The seed picks each trial among the spec's pool of instances (``POOL_SIZE`` of them): trial
    ``i`` takes an instance whose functions are the ``i``-th of the cycle (so ``phi`` goes
    through its choices) and whose sizes no earlier trial has, where the pool allows. Instances
    are traced once per spec object and then shared, with what was computed on them.
    ``base_namespace`` (reading the model without known shapes) traces private copies.
    """
    count = spec.grading.trials if count is None else count
    ctx = GradingContext(spec, seed)
    cycle = _function_cycle(spec)
    per_residue = max(1, POOL_SIZE // cycle)
    pool = spec._instances  # a pydantic private attribute: read once, not per instance
    used: set[tuple[int, ...]] = set()
    trials = []
    offset = int(ctx.rng("functions").integers(0, 1 << 16))
    for index in range(count):
        residue = (index + offset) % cycle
        start = int(ctx.rng("trial", index).integers(0, per_residue))
        candidates = (residue + cycle * ((start + k) % per_residue) for k in range(per_residue))
        for number in candidates:
            sizes = tuple(_sizes_in(pool, spec, number).values())
            if sizes not in used:
                break
        else:  # every instance of this cycle position repeats some sizes: take the first
            number = residue + cycle * start
            sizes = tuple(_sizes_in(pool, spec, number).values())
        used.add(sizes)
        if base_namespace is None:
            base = _instance_in(pool, spec, number)
        else:
            base = _trace_instance(spec, number, base_namespace)
        trial = copy.copy(base)  # what dataclasses.replace(base, index=index) makes, faster
        trial.index = index
        trials.append(trial)
    return trials


def instance(spec: ExerciseSpec, number: int) -> Trial:
    """Return instance ``number`` of ``spec``'s pool, traced on first use and kept on the spec.

    Its arrays are read-only: every submission that draws it shares them, and its ``cache``.
    """
    return _instance_in(spec._instances, spec, number)


def _instance_in(pool: dict[Any, Any], spec: ExerciseSpec, number: int) -> Trial:
    found = pool.get(number)
    if found is None:
        found = _trace_instance(spec, number, namespace_for(spec))
        pool[number] = found  # two threads may trace it at once: the same values either way
    return found


def _sizes_in(pool: dict[Any, Any], spec: ExerciseSpec, number: int) -> dict[str, int]:
    found = pool.get(number)
    if found is not None:
        return found.sizes
    sizes = pool.get(("sizes", number))
    if sizes is None:
        sizes = draw_sizes(spec, _instance_rng(number), set())
        pool[("sizes", number)] = sizes
    return sizes


def _instance_rng(number: int) -> np.random.Generator:
    digest = hashlib.sha256(repr(("instance", number)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def _function_cycle(spec: ExerciseSpec) -> int:
    """Return after how many instances every function's choices come round again."""
    return math.lcm(1, *(len(f.choices) for f in spec.functions.values()))


def _trace_instance(spec: ExerciseSpec, number: int, namespace: Namespace) -> Trial:
    """Draw instance ``number`` (sizes, then each variable's values) and trace the model."""
    rng = _instance_rng(number)
    sizes = draw_sizes(spec, rng, set())
    functions = {name: f.choices[number % len(f.choices)] for name, f in spec.functions.items()}
    inputs = {}
    for name, variable in spec.variables.items():
        shape = tuple(sizes[s] if isinstance(s, str) else int(s) for s in variable.shape)
        if len(shape) == 1:
            shape = (shape[0], 1)
        low, high = variable.range
        inputs[name] = _frozen(rng.uniform(low, high, size=shape).astype(np.float64))
    trial = Trial(-1, sizes, functions, inputs, None, dict(inputs))
    if spec.model:
        leaves = {
            name: engine.leaf(value, name, _symbols(spec.variables[name].shape))
            for name, value in inputs.items()
        }
        params = [n for n, v in spec.variables.items() if v.role == "parameter"]
        trial.model = build_model(
            parsed_model(spec, namespace),
            leaves,
            namespace,
            ops=trial.ops(),
            sizes=sizes,
            params=params,
        )
        for name in spec.model:
            trial.values[name] = _frozen(np.array(trial.model[name].value, dtype=np.float64))
    return trial


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _symbols(shape: list[str | int]) -> tuple[str | int, ...]:
    return tuple(shape) + ((1,) if len(shape) == 1 else ())


def trials_of(ctx: GradingContext) -> list[Trial]:
    """Return the submission's trials, computed once per grading context."""
    if "trials" not in ctx.cache:
        ctx.cache["trials"] = draw_trials(ctx.exercise, ctx.seed)
    return ctx.cache["trials"]


def reference_value(
    trial: Trial,
    expression: str,
    namespace: Namespace,
    extra: Mapping[str, np.ndarray] = MappingProxyType({}),
) -> np.ndarray:
    """Evaluate an instructor's expression (may use ``grad``/``hessian``/``hvp``) on a trial.

    ``extra`` binds further names (earlier parts' reference values) as constants.
    """
    return trial.engine_value(parse(expression, namespace), extra)


def student_value(
    trial: Trial, tree: Any, extra: Mapping[str, np.ndarray] = MappingProxyType({})
) -> np.ndarray:
    """Evaluate a parsed student formula on a trial with the bounded evaluator.

    Raises the formula language's errors (shape errors name the sizes).
    """
    values = dict(trial.values)
    values.update(dict(extra))
    functions: dict[str, Any] = dict(trial.functions)
    loss = trial.ops()["l"]
    functions["l"] = lambda o, y: np.asarray(loss(engine.const(o), engine.const(y)).value)
    return np.asarray(evaluate(tree, values, functions, sizes=trial.sizes), dtype=np.float64)
