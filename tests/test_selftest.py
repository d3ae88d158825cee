"""The exercise self-test: passes on the repository's exercises, fails on broken copies."""

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.catalog import CatalogError, load_files
from grader.cli import main
from grader.kinds.registry import get_kind
from grader.kinds.spec import ExerciseSpec
from grader.selftest import judge, selftest_paths, selftest_spec

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(EXERCISES / name, target)
    return target


def test_repository_exercises_pass():
    reports = selftest_paths([EXERCISES])
    assert reports and all(report.failures == 0 for report in reports), [
        line for report in reports for line, ok in report.lines() if not ok
    ]
    by_slug = {report.slug: report for report in reports}
    graph = by_slug["graph-bias"].parts[0]
    assert graph.part_id == "graph" and len(graph.checks) >= 7  # reference x2, mistakes, examples
    assert {p.kind for p in by_slug["multi-gpu"].parts} == {"choice", "text"}


def test_cli_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(
        main,
        [
            "exercises",
            "test",
            str(EXERCISES / "graph-bias.yaml"),
            str(EXERCISES / "multi-gpu.yaml"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "part graph (graph)" in ok.output and "0 failure(s)" in ok.output


def test_wrong_reference_fails_and_names_the_part(tmp_path):
    path = _copy(tmp_path, "graph-bias.yaml")
    path.write_text(
        path.read_text(encoding="utf-8").replace("h: phi(z)", "h: tanh(z)"), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["exercises", "test", str(path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "[graph-bias] part graph (graph)" in result.output
    assert "example 1" in result.output and "expected full marks" in result.output


def test_mistake_that_is_correct_fails_at_load_with_its_location(tmp_path):
    path = _copy(tmp_path, "jacobian-shape.yaml")
    text = path.read_text(encoding="utf-8").replace("- answer: m×n\n", "- answer: n x m\n", 1)
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["exercises", "test", str(path)])
    assert result.exit_code == 1 and "parts[0].mistakes[0]" in result.output


def test_mistake_that_is_correct_fails_the_self_test():
    """Without the load-time check (a kind that has none), the self-test itself catches it."""
    spec = load_files([EXERCISES / "jacobian-shape.yaml"])[0].spec
    data = spec.model_dump(mode="json", exclude_none=True)
    data["parts"][0]["mistakes"][0]["answer"] = "n x m"
    report = selftest_spec(ExerciseSpec.model_validate(data), "copy.yaml")
    assert report.failures >= 1
    lines = [line for line, ok in report.lines() if not ok]
    assert "part shape (shape)" in lines[0]
    assert "mistake" in lines[1] and "expected to be rejected" in lines[1]


def test_example_with_wrong_verdict_fails(tmp_path):
    path = _copy(tmp_path, "multi-gpu.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["examples"].append(
        {"part": "tradeoffs", "answer": ["fits"], "correct": False, "score": 1.5}
    )
    data["examples"].append(
        {
            "part": "partition",
            "answer": ["only-data"],
            "correct": False,
            "feedback": "a phrase that is not there",
        }
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    report = selftest_paths([path])[0]
    failed = {part.part_id: [c.message for c in part.failures] for part in report.parts}
    assert "expected score 1.5, got 0.5" in failed["tradeoffs"][0]
    assert "does not contain 'a phrase that is not there'" in failed["partition"][0]


def test_invalid_file_raises_catalog_error(tmp_path):
    (tmp_path / "bad.yaml").write_text("slug: Bad Slug\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        selftest_paths([tmp_path])


def test_a_kind_that_raises_is_a_failed_check(monkeypatch):
    spec = load_files([EXERCISES / "multi-gpu.yaml"])[0].spec
    kind = get_kind("text")

    def boom(*args):
        raise RuntimeError("broken kind")

    monkeypatch.setattr(kind, "grade", boom)
    report = selftest_spec(spec)
    text_part = next(p for p in report.parts if p.kind == "text")
    assert text_part.failures and "RuntimeError: broken kind" in text_part.failures[0].message


def test_judge_rules():
    from grader.kinds.base import PartResult

    right = PartResult("p", 1, 1, True, "Correct.")
    wrong = PartResult("p", 0, 1, False, "No: transposed.")
    invalid = PartResult("p", 0, 1, False, "Cannot read.", "invalid")
    assert judge(right, True) == "" and judge(wrong, False, "transposed") == ""
    assert "expected full marks" in judge(wrong, True)
    assert "unreadable" in judge(invalid, False)
    assert judge(invalid, False, "Cannot", allow_invalid=True) == ""
