"""``grader exercises``: validate and import."""


def test_validate_ok_and_failure(runner, exercise_dir):
    ok = runner.invoke(args=["exercises", "validate", str(exercise_dir)])
    assert ok.exit_code == 0 and "jacobian-shape" in ok.output
    bad = exercise_dir / "bad.yaml"
    bad.write_text("slug: bad\ntitle: Bad\nparts:\n  - {id: p, kind: nope}\n")
    failed = runner.invoke(args=["exercises", "validate", str(bad)])
    assert failed.exit_code == 1
    assert "bad.yaml:4: parts[0].kind: unknown kind 'nope'" in failed.output


def test_import_reports_and_is_atomic(app, runner, exercise_dir):
    result = runner.invoke(args=["exercises", "import", str(exercise_dir)])
    assert result.exit_code == 0 and "created      jacobian-shape" in result.output
    result = runner.invoke(args=["exercises", "import", str(exercise_dir)])
    assert "unchanged    jacobian-shape" in result.output
    (exercise_dir / "broken.yaml").write_text("slug: [\n")
    result = runner.invoke(args=["exercises", "import", str(exercise_dir)])
    assert result.exit_code == 1 and "Nothing imported" in result.output


def test_import_missing_path(runner, tmp_path):
    result = runner.invoke(args=["exercises", "import", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_import_lists_every_problem_and_the_self_test_failures(app, runner, tmp_path):
    """With --selftest the CLI import refuses failing exercises as the web import does, listing
    every problem of every file together with the self-test failures (issue 19, item 12)."""
    from pathlib import Path

    from tests.conftest import EXERCISES

    exercise_dir = tmp_path
    fixture = Path(__file__).parents[1] / "fixtures" / "many-problems.yaml"
    (exercise_dir / "many.yaml").write_text(fixture.read_text(encoding="utf-8"))
    shape = exercise_dir / "jacobian-shape.yaml"
    shape.write_text(
        (EXERCISES / "jacobian-shape.yaml").read_text(encoding="utf-8")
        + '  - {part: shape, answer: "m×n", correct: true}\n'
    )
    result = runner.invoke(args=["exercises", "import", "--selftest", str(exercise_dir)])
    assert result.exit_code == 1 and "Nothing imported. 8 problem(s)" in result.output
    for expected in (
        "many.yaml:4: title:",
        "many.yaml:19: parts[2].kind: unknown kind",
        "many.yaml:22: parts[3].answer:",
        "many.yaml:29: examples[1].part:",
        "jacobian-shape.yaml:",
        "parts[0]: self-test of part 'shape'",
    ):
        assert expected in result.output, result.output
    (exercise_dir / "many.yaml").unlink()
    refused = runner.invoke(args=["exercises", "import", "--selftest", str(exercise_dir)])
    assert refused.exit_code == 1 and "1 self-test failure(s)" in refused.output
    drafts = runner.invoke(
        args=["exercises", "import", "--selftest", "--drafts", str(exercise_dir)]
    )
    assert drafts.exit_code == 0 and "draft        jacobian-shape" in drafts.output
