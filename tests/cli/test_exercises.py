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
