"""The backprop-code exercises: their examples grade as stated, forbidden imports, and code
grading through the API and the Celery task (eager in the embedded default)."""

import shutil
from pathlib import Path

import pytest

from grader.catalog import parse_exercise
from grader.extensions import db
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind
from grader.models import Submission
from tests.api.helpers import auth

ROOT = Path(__file__).resolve().parents[2]
SLUGS = ["backprop-code", "backprop-code-batch"]
SPECS = {slug: parse_exercise((ROOT / "exercises" / f"{slug}.yaml").read_text()) for slug in SLUGS}
requires_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap",
)
needs_bwrap = [pytest.mark.sandbox, requires_bwrap]
EXAMPLES = [
    pytest.param(slug, index, id=f"{slug}-{index}", marks=needs_bwrap)
    for slug, spec in SPECS.items()
    for index in range(len(spec.examples))
]


def grade(slug, answer, seed=2024):
    spec = SPECS[slug]
    part = spec.part("code")
    return get_kind("code").grade(part, answer, GradingContext(spec, seed))


def test_backprop_code_is_pinned_as_design_section_1_says():
    spec = SPECS["backprop-code"]
    part = spec.part("code")
    assert [p.id for p in spec.parts] == ["code"]
    assert part.entry == "backward"
    assert part.parameters == ["x", "y", "W1", "b1", "W2", "b2", "lam"]
    assert list(part.outputs) == ["W1", "b1", "W2", "b2"]
    assert spec.functions["phi"].choices == ["tanh"] and part.packages == ["numpy"]
    assert "def backward(x, y, W1, b1, W2, b2, lam)" in part.starter


def test_batch_prompt_states_the_convention_and_the_loss():
    spec = SPECS["backprop-code-batch"]
    assert "row $i$ is example $i$" in spec.prompt and "summed" in spec.prompt
    assert spec.variables["X"].shape == ["n", "d"] and spec.variables["Y"].shape == ["n", "q"]


def test_every_exercise_lists_a_correct_and_wrong_examples():
    for spec in SPECS.values():
        verdicts = [example.correct for example in spec.examples]
        assert True in verdicts and verdicts.count(False) >= 3


@pytest.mark.parametrize(("slug", "index"), EXAMPLES)
def test_examples_grade_as_stated(slug, index):
    example = SPECS[slug].examples[index]
    for seed in (1, 2):
        result = grade(slug, example.answer, seed)
        assert result.correct is example.correct, result.feedback
        if example.score is not None:
            assert result.score == example.score, result.feedback
        if example.feedback:
            assert example.feedback in result.feedback


@pytest.mark.sandbox
@requires_bwrap
@pytest.mark.parametrize("slug", SLUGS)
def test_starter_code_runs_but_scores_nothing(slug):
    result = grade(slug, SPECS[slug].part("code").starter)
    assert result.score == 0 and not result.correct


@pytest.mark.sandbox
@requires_bwrap
@pytest.mark.parametrize("module", ["grader", "grader.engine", "torch", "jax", "autograd"])
@pytest.mark.parametrize("slug", SLUGS)
def test_autodiff_and_this_service_are_not_importable(slug, module):
    correct = SPECS[slug].examples[0].answer
    result = grade(slug, f"import {module}\n{correct}")
    assert result.score == 0 and result.diagnosis == "exception"
    assert "ModuleNotFoundError" in result.feedback
    assert f"No module named '{module.split('.')[0]}'" in result.feedback


@pytest.mark.sandbox
@requires_bwrap
def test_code_submitted_through_the_api_is_graded_by_the_task(imported, client, make_token):
    answer = SPECS["backprop-code"].examples[0].answer
    response = client.post(
        "/api/v1/exercises/backprop-code/submissions",
        json={"user": "lms-7", "answers": {"code": answer}},
        headers=auth(make_token()),
    )
    assert response.status_code == 201, response.json
    result = response.json
    assert result["status"] == "graded" and result["score"] == 4 and result["max_score"] == 4
    assert result["parts"][0]["correct"] and result["graded_at"] is not None
    with imported.app_context():
        row = db.session.get(Submission, result["id"])
        assert row.status == "graded" and row.parts[0]["diagnosis"] == "correct"
        assert row.parts[0]["details"]["confined"] is True


@pytest.mark.sandbox
@requires_bwrap
def test_partial_credit_through_the_api(imported, client, make_token):
    answer = SPECS["backprop-code"].examples[2].answer  # missing weight decay
    response = client.post(
        "/api/v1/exercises/backprop-code/submissions",
        json={"user": "lms-8", "answers": {"code": answer}},
        headers=auth(make_token()),
    )
    assert response.status_code == 201
    assert response.json["score"] == 2 and "lam*W1" in response.json["parts"][0]["feedback"]


def test_a_failing_task_queue_leaves_the_submission_as_error(
    imported, client, make_token, monkeypatch
):
    def broken(submission_id):
        raise ConnectionError("the grading worker lost its database connection")

    monkeypatch.setattr("grader.services.grading.finish_deferred", broken)
    response = client.post(
        "/api/v1/exercises/backprop-code/submissions",
        json={"user": "lms-9", "answers": {"code": SPECS["backprop-code"].examples[0].answer}},
        headers=auth(make_token()),
    )
    assert response.status_code in (201, 202)
    submission_id = response.json["id"]
    again = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(make_token()))
    assert again.json["status"] == "error" and again.json["score"] == 0
    assert "Grading failed" in again.json["parts"][0]["feedback"]
    with imported.app_context():
        row = db.session.get(Submission, submission_id)
        assert row.status == "error" and "lost its database connection" in row.error


def test_sandbox_outage_ends_as_error_for_regrading(imported, client, make_token, monkeypatch):
    from grader.kinds import code as code_module
    from grader.sandbox import RunResult, Status

    monkeypatch.setattr(
        code_module,
        "run_code",
        lambda *a, **k: RunResult(Status.SANDBOX_UNAVAILABLE, message="bwrap missing"),
    )
    response = client.post(
        "/api/v1/exercises/backprop-code/submissions",
        json={"user": "lms-10", "answers": {"code": SPECS["backprop-code"].examples[0].answer}},
        headers=auth(make_token()),
    )
    assert response.status_code == 201
    assert response.json["status"] == "error" and response.json["score"] == 0
    assert "sandbox is unavailable" in response.json["parts"][0]["feedback"]


@pytest.mark.parametrize("slug", SLUGS)
def test_syntax_errors_never_reach_the_sandbox(imported, client, make_token, monkeypatch, slug):
    from grader.kinds import code as code_module

    def no_sandbox(*args, **kwargs):
        raise AssertionError("code with a syntax error must not be run")

    monkeypatch.setattr(code_module, "run_code", no_sandbox)
    assert code_module.CodeKind().precheck(SPECS[slug].part("code"), "def f(:") is not None
    response = client.post(
        f"/api/v1/exercises/{slug}/submissions",
        json={"user": "lms-11", "answers": {"code": "def backward(:\n  pass"}},
        headers=auth(make_token()),
    )
    # Invalid input costs no attempt: refused with the message, nothing stored.
    assert response.status_code == 422, response.json
    assert response.json["type"].endswith("/unreadable-answer")
    assert "not valid Python on line 1" in response.json["parts"][0]["feedback"]
