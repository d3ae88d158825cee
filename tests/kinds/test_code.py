"""The code kind without a sandbox: the part model, load-time checks, comparisons and verdicts.

The sandbox's answer is replaced by hand-made ``RunResult`` objects here, so each verdict's
wording and score is checked on its own; tests/kinds/test_code_sandbox.py runs real code.
"""

from pathlib import Path

import numpy as np
import pytest

from grader.catalog import CatalogError, parse_exercise
from grader.kinds import code as code_module
from grader.kinds.base import ERROR, GRADED, INVALID, GradingContext
from grader.kinds.code_verdicts import accepted_shapes, compare, problem_verdict
from grader.kinds.instances import draw_trials, namespace_for, reference_value
from grader.kinds.registry import get_kind
from grader.sandbox import CallResult, RunResult, Status

ROOT = Path(__file__).resolve().parents[2]
SPEC = parse_exercise((ROOT / "exercises" / "backprop-code.yaml").read_text())
PART = SPEC.part("code")
KIND = get_kind("code")
SIZES = {"d": 3, "h": 5, "q": 2}
CORRECT_SOURCE = SPEC.examples[0].answer


def references(seed):
    ns = namespace_for(SPEC)
    return [
        {name: reference_value(t, expr, ns) for name, expr in PART.outputs.items()}
        for t in draw_trials(SPEC, seed)
    ]


def graded_with(monkeypatch, make_calls, seed=5, **result_fields):
    """Grade with run_code replaced: ``make_calls(refs)`` builds the CallResults."""
    seen = {}

    def fake_run_code(source, entry, calls, limits, *, expected, packages):
        seen.update(
            source=source,
            entry=entry,
            calls=calls,
            limits=limits,
            expected=expected,
            packages=packages,
        )
        status = result_fields.pop("status", Status.OK)
        return RunResult(status, calls=make_calls(references(seed)), **result_fields)

    monkeypatch.setattr(code_module, "run_code", fake_run_code)
    result = KIND.grade(PART, CORRECT_SOURCE, GradingContext(SPEC, seed))
    return result, seen


def as_returned(refs, **changes):
    """CallResults carrying the references, 1-D for vectors, with per-output changes."""
    calls = []
    for ref in refs:
        outputs = {k: (v.reshape(-1) if v.shape[1] == 1 else v.copy()) for k, v in ref.items()}
        for name, change in changes.items():
            outputs[name] = change(outputs[name])
        calls.append(CallResult(outputs=outputs))
    return calls


def test_part_fields_and_public_view():
    assert KIND.deferred is True
    public = KIND.public(PART)
    assert public["outputs"] == ["W1", "b1", "W2", "b2"]
    assert "grad(" not in str(public) and "terms" not in public
    assert public["entry"] == "backward" and "def backward" in public["starter"]
    assert public["parameters"] == ["x", "y", "W1", "b1", "W2", "b2", "lam"]
    limits = PART.limits()
    assert limits.wall_seconds == 5 and limits.memory_bytes == 256 << 20


def test_arguments_follow_design_section_1(monkeypatch):
    result, seen = graded_with(monkeypatch, as_returned)
    assert result.correct and result.score == 4
    trial = draw_trials(SPEC, 5)[0]
    call = seen["calls"][0]
    assert list(call) == PART.parameters
    assert call["x"].shape == (trial.sizes["d"],) and call["b1"].shape == (trial.sizes["h"],)
    assert call["W1"].shape == (trial.sizes["h"], trial.sizes["d"])
    assert type(call["lam"]) is float
    assert seen["packages"] == ("numpy",) and seen["entry"] == "backward"
    assert len(seen["calls"]) == SPEC.grading.trials
    # the child is never sent a reference: only the parameters travel
    assert all(set(c) == set(PART.parameters) for c in seen["calls"])


def test_column_outputs_accepted_as_columns_too(monkeypatch):
    def columns(refs):
        return [CallResult(outputs={k: v.copy() for k, v in ref.items()}) for ref in refs]

    result, _ = graded_with(monkeypatch, columns)
    assert result.correct and result.score == 4


def test_partial_credit_is_per_output_and_needs_every_trial(monkeypatch):
    def wrong_b2_on_last_trial(refs):
        calls = as_returned(refs)
        calls[-1].outputs["b2"] = calls[-1].outputs["b2"] + 0.5
        return calls

    result, _ = graded_with(monkeypatch, wrong_b2_on_last_trial)
    assert result.score == 3 and not result.correct and result.status == GRADED
    assert "3 of 4 outputs correct" in result.feedback
    assert f"trial {SPEC.grading.trials}" in result.feedback
    assert result.details["outputs"]["b2"]["verdict"] == "wrong-values"
    assert result.details["outputs"]["W1"]["verdict"] == "correct"


def test_wrong_values_name_the_largest_error(monkeypatch):
    def bump(v):
        v = v.copy()
        v[1, 1] += 3.0  # every size is >= 2
        return v

    result, _ = graded_with(monkeypatch, lambda refs: as_returned(refs, W1=bump))
    assert "largest error is at W1[1, 1]" in result.feedback
    assert result.details["outputs"]["W1"]["index"] == [1, 1]
    assert result.details["outputs"]["W1"]["relative_error"] > 0.1


def test_sandbox_unavailable_is_an_error_not_a_zero_for_the_student(monkeypatch):
    result, _ = graded_with(
        monkeypatch,
        lambda refs: [],
        status=Status.SANDBOX_UNAVAILABLE,
        message="bwrap: setting up uid map: Permission denied",
    )
    assert result.status == ERROR and result.diagnosis == "sandbox-unavailable"
    assert "not a problem with your answer" in result.feedback
    assert "graded again" in result.feedback


def test_unconfined_runs_say_so_loudly(monkeypatch):
    result, _ = graded_with(monkeypatch, as_returned, confined=False)
    assert result.correct
    assert result.feedback.startswith("WARNING — DEVELOPMENT MODE")
    assert result.details["confined"] is False


@pytest.mark.parametrize(
    ("status", "diagnosis", "phrase"),
    [
        (Status.TIMEOUT, "time-limit", "within 5 s"),
        (Status.MEMORY_LIMIT, "memory-limit", "more than 256 MiB"),
        (Status.OUTPUT_LIMIT, "output-limit", "printed too much"),
        (Status.CRASHED, "crashed", "stopped abruptly"),
    ],
)
def test_run_failures_score_zero_with_the_reason(monkeypatch, status, diagnosis, phrase):
    result, _ = graded_with(monkeypatch, lambda refs: [], status=status)
    assert result.score == 0 and result.status == GRADED
    assert result.diagnosis == diagnosis and phrase in result.feedback


def test_a_crash_of_the_students_process_is_graded_with_its_cause(monkeypatch):
    result, _ = graded_with(
        monkeypatch, lambda refs: [], status=Status.CRASHED, message="killed by signal SIGSEGV"
    )
    assert result.status == GRADED and result.diagnosis == "crashed" and result.score == 0
    assert "SIGSEGV" in result.feedback


@pytest.mark.parametrize("message", ["sandbox monitor died", "the sandbox stopped answering: EOF"])
def test_a_failure_of_the_sandbox_itself_is_an_error_to_regrade(monkeypatch, message):
    result, _ = graded_with(monkeypatch, lambda refs: [], status=Status.CRASHED, message=message)
    assert result.status == ERROR and result.diagnosis == "sandbox-unavailable"


def test_exception_shows_the_students_traceback(monkeypatch):
    trace = 'Traceback (most recent call last):\n  File "submission.py", line 3\nKeyError: 1\n'
    result, _ = graded_with(monkeypatch, lambda refs: [], status=Status.EXCEPTION, traceback=trace)
    assert result.diagnosis == "exception" and result.score == 0
    assert 'File "submission.py", line 3' in result.feedback


def test_printed_output_is_shown_capped(monkeypatch):
    result, _ = graded_with(
        monkeypatch, lambda refs: as_returned(refs, b1=lambda v: v * 3), stdout="debug " * 500
    )
    assert "Your code printed:" in result.feedback
    assert result.feedback.endswith("…") and len(result.feedback) < 2000


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (42, "as text"),
        ("def backward(x:\n    return 1", "not valid Python on line 1"),
        ("x" * 60_000, "at most"),
    ],
)
def test_unreadable_code_is_invalid_and_costs_nothing(answer, phrase):
    result = KIND.grade(PART, answer, GradingContext(SPEC, 1))
    assert result.status == INVALID and phrase in result.feedback


def test_accepted_shapes():
    assert accepted_shapes(np.zeros((4, 1))) == [(4,), (4, 1)]
    assert accepted_shapes(np.zeros((4, 2))) == [(4, 2)]


def test_compare_shapes():
    reference = np.ones((5, 3))
    assert compare("W1", np.ones((5, 3)), reference, SIZES, 1e-6, 1e-9).correct
    transposed = compare("W1", np.ones((3, 5)), reference, SIZES, 1e-6, 1e-9)
    assert transposed.diagnosis == "transposed"
    assert "W1 has shape (d, h) but should have shape (h, d) (d = 3, h = 5 here)" in (
        transposed.message
    )
    column = np.ones((5, 1))
    assert compare("b1", np.ones(5), column, SIZES, 1e-6, 1e-9).correct
    row = compare("b1", np.ones((1, 5)), column, SIZES, 1e-6, 1e-9)
    assert row.verdict == "wrong-shape" and row.details == {"expected": [5, 1], "got": [1, 5]}


def test_compare_diagnoses_factor_sign_and_terms():
    rng = np.random.default_rng(0)
    reference, penalty = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    args = (SIZES, 1e-6, 1e-9)
    assert compare("W", reference / 2, reference, *args).diagnosis == "factor:2"
    assert compare("W", -reference, reference, *args).diagnosis == "sign"
    assert compare("W", reference / 3, reference, *args).diagnosis == "factor:d"
    terms = {"lam*W1": penalty}
    assert compare("W", reference - penalty, reference, *args, terms).diagnosis == (
        "missing-term:lam*W1"
    )
    assert compare("W", reference + penalty, reference, *args, terms).diagnosis == (
        "extra-term:lam*W1"
    )
    assert compare("W", reference + 1, reference, *args, terms).diagnosis == "wrong-values"


def test_compare_tolerance_is_relative_and_absolute():
    reference = np.array([[1e6], [1e-12]])
    assert compare("b", np.array([1e6 * (1 + 1e-8), 0.0]), reference, SIZES, 1e-6, 1e-9).correct
    assert not compare("b", np.array([1e6 * (1 + 1e-4), 0.0]), reference, SIZES, 1e-6, 1e-9).correct


def test_problem_verdicts():
    assert problem_verdict("b1", "missing", "", "backward").diagnosis == "missing-output"
    nan = problem_verdict("b1", "contains NaN or infinity", "", "backward")
    assert nan.verdict == "not-finite"
    listed = problem_verdict("b1", "missing", "returned builtins.list, expected a dict", "backward")
    assert listed.diagnosis == "not-a-dict" and "builtins.list" in listed.message
    dtype = problem_verdict("b1", "wrong dtype int64 (expected a float array)", "", "backward")
    assert dtype.verdict == "invalid-value" and "int64" in dtype.message


def _variant(text):
    return parse_exercise(text.replace("PART", PART_TEMPLATE))


PART_TEMPLATE = """
  - id: code
    kind: code
    parameters: [x, W1]
    outputs: {W1: 'grad(J, W1)'}"""
BASE = (ROOT / "tests" / "fixtures" / "chapter-model.yaml").read_text().split("parts:")[0]


@pytest.mark.parametrize(
    ("replace", "field", "message"),
    [
        ("parameters: [x, W1]", "parameters", "not an exercise variable"),
        ("outputs: {W1: 'grad(J, W1)'}", "outputs", "does not evaluate"),
        ("kind: code", "packages", "is not installed"),
        ("kind: code", "terms", "not one of the outputs"),
        ("kind: code", "starter", "not valid Python"),
        ("kind: code", "packages", "may never be allowed"),
        ("kind: code", "entry", "not a Python identifier"),
    ],
)
def test_load_time_checks(replace, field, message):
    edits = {
        "parameters": "parameters: [x, W9]",
        "outputs": "outputs: {W1: 'grad(J, nope)'}",
        "terms": "kind: code\n    terms: {b7: [lam*W1]}",
        "starter": "kind: code\n    starter: 'def f(:'",
        "entry": "kind: code\n    entry: class",
    }
    if field == "packages":
        package = "grader" if "never" in message else "no_such_package_xyz"
        edit = f"kind: code\n    packages: [numpy, {package}]"
    else:
        edit = edits[field]
    source = BASE + "parts:" + PART_TEMPLATE.replace(replace, edit)
    with pytest.raises(CatalogError) as caught:
        parse_exercise(source)
    assert message in str(caught.value) and field in str(caught.value)


def test_a_good_variant_loads():
    spec = parse_exercise(BASE + "parts:" + PART_TEMPLATE)
    part = spec.part("code")
    assert part.time_limit == 5 and part.memory_limit == 256 and part.packages == ["numpy"]


def test_an_exercise_without_a_model_is_graded_on_its_variables(monkeypatch):
    """References that name only variables evaluate when grading as they do when loading."""
    spec = parse_exercise(
        "slug: square\ntitle: Square\ndims: {d: [2, 5]}\n"
        "variables: {x: {shape: [d], role: input}}\n"
        "parts:\n  - {id: c, kind: code, parameters: [x], outputs: {g: 2*x}}\n"
    )
    ctx = GradingContext(spec, 2)
    doubled = [2 * t.inputs["x"].reshape(-1) for t in draw_trials(spec, 2)]

    def fake_run_code(source, entry, calls, limits, *, expected, packages):
        return RunResult(Status.OK, calls=[CallResult(outputs={"g": g}) for g in doubled])

    monkeypatch.setattr(code_module, "run_code", fake_run_code)
    result = KIND.grade(spec.part("c"), "def backward(x):\n    return {'g': 2 * x}\n", ctx)
    assert result.correct and result.status == GRADED, result.feedback


def test_a_near_miss_is_precision_not_a_factor_of_one():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(5, 3))
    near = reference * (1 + 1.4e-6)
    verdict = compare("W1", near, reference, SIZES, 1e-6, 1e-9)
    assert verdict.diagnosis == "precision", verdict.message
    assert "divided by" not in verdict.message and "float64" in verdict.message
    single = compare("W1", reference.astype(np.float32), reference, SIZES, 1e-6, 1e-9)
    assert single.diagnosis == "precision" and not single.correct
    assert "float32 array" in single.message and "float64" in single.message


def test_a_listed_variant_is_named_before_the_generic_diagnosis():
    from grader.kinds.code_verdicts import Variant

    rng = np.random.default_rng(4)
    reference = rng.normal(size=(5, 1))
    wrong = reference * 0.5  # would otherwise read as "divided by 2"
    variant = Variant("mistake:3", "φ′ is missing.", wrong.copy())
    verdict = compare("b1", wrong.ravel(), reference, SIZES, 1e-6, 1e-9, variants=[variant])
    assert verdict.diagnosis == "mistake:3" and "φ′ is missing." in verdict.message


def test_mistakes_stay_private_and_are_checked():
    assert "mistakes" not in KIND.public(PART)
    data = PART.model_dump()
    data["mistakes"] = [{"outputs": {"W1": "grad(J, W1)"}, "feedback": "same"}]
    bad = type(PART).model_validate(data)
    assert any("reference's value" in message for _, message in KIND.check(bad, SPEC))


def test_signature_message_stays_short():
    from grader.kinds.code import signature_problem

    source = "def backward(x, y=" + "+".join(["1"] * 500) + "):\n    pass\n"
    message, names = signature_problem(source, "backward", list(PART.parameters))
    assert "takes 2 parameters" in message and len(message) < 400 and names == {}


def test_the_dashboard_names_a_listed_code_mistake():
    from grader.services.dashboard import diagnosis_label

    label = diagnosis_label(PART, "mistake:3")
    assert label.startswith("listed mistake: W1 = grad(J, h) @ x.T + lam*W1"), label
    assert KIND.mistake_answers(PART)[6].startswith("b1 = grad(J, b1) + lam*b1")
