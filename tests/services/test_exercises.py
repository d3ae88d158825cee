"""Importing exercises: atomic, versioned, unchanged files make no new version."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from grader.catalog import CatalogError
from grader.extensions import db
from grader.models import Exercise, ExerciseVersion
from grader.services.exercises import (
    ExerciseNotFound,
    current_version,
    import_exercises,
    list_current_versions,
)


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_import_creates_then_leaves_unchanged(app, exercise_dir):
    with app.app_context():
        first = import_exercises([exercise_dir])
        again = import_exercises([exercise_dir])
    assert "jacobian-shape" in first.created
    assert again.created == [] and again.updated == []
    assert "jacobian-shape" in again.unchanged
    assert _count(app, ExerciseVersion) == _count(app, Exercise)


def test_comment_only_edit_is_not_a_new_version(app, exercise_dir):
    path = exercise_dir / "jacobian-shape.yaml"
    with app.app_context():
        import_exercises([path])
        path.write_text("# a comment\n" + path.read_text())
        assert import_exercises([path]).unchanged == ["jacobian-shape"]


def test_edit_makes_a_new_version_and_keeps_the_old(app, exercise_dir):
    path = exercise_dir / "jacobian-shape.yaml"
    with app.app_context():
        import_exercises([path])
        path.write_text(path.read_text().replace("and Jacobians", "and Jacobians!"))
        report = import_exercises([path])
        assert report.updated == ["jacobian-shape"]
        version = current_version("jacobian-shape")
        assert version.number == 2 and version.spec["title"].endswith("!")
        assert version.exercise.title.endswith("!")
        old = db.session.scalar(select(ExerciseVersion).where(ExerciseVersion.number == 1))
        assert not old.spec["title"].endswith("!")


def test_one_bad_file_imports_nothing(app, exercise_dir):
    (exercise_dir / "zz-broken.yaml").write_text("slug: broken\ntitle: x\nparts: []\n")
    with app.app_context():
        with pytest.raises(CatalogError) as info:
            import_exercises([exercise_dir])
    assert info.value.issues[0].file.endswith("zz-broken.yaml")
    assert _count(app, Exercise) == 0 and _count(app, ExerciseVersion) == 0


def test_failure_while_writing_rolls_back_everything(app, exercise_dir, monkeypatch):
    import grader.services.exercises as service

    calls = []
    real = service._store

    def failing(item, report):
        calls.append(item)
        real(item, report)
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_store", failing)
    with app.app_context():
        with pytest.raises(RuntimeError):
            import_exercises([exercise_dir])
    assert calls and _count(app, Exercise) == 0


def test_current_version_unknown_slug(app):
    with app.app_context():
        with pytest.raises(ExerciseNotFound):
            current_version("nope")


def test_list_current_versions_returns_newest(app, exercise_dir):
    path = exercise_dir / "jacobian-shape.yaml"
    with app.app_context():
        import_exercises([path])
        path.write_text(path.read_text().replace("title: Shapes", "title: New shapes"))
        import_exercises([path])
        [version] = [v for v in list_current_versions() if v.exercise.slug == "jacobian-shape"]
        assert version.number == 2


def test_stored_spec_keeps_the_order_of_model_and_dims(app, exercise_dir):
    """PostgreSQL's JSONB reorders keys; the spec must come back in the file's order."""
    from grader.services.exercises import spec_of

    with app.app_context():
        import_exercises([exercise_dir / "backprop-bias.yaml"])
        spec = spec_of(current_version("backprop-bias"))
    assert list(spec.model) == ["z", "h", "o", "L", "s", "J"]
    assert list(spec.dims) == ["d", "h", "q"]


def test_a_draft_or_retired_exercise_takes_no_submission(imported):
    from grader.services.exercises import current_version, set_status
    from grader.services.grading import submit
    from grader.services.users import lms_user

    with imported.app_context():
        user = lms_user("s-status")
        for status in ("draft", "retired"):
            set_status("jacobian-shape", status)
            with pytest.raises(ExerciseNotFound):
                current_version("jacobian-shape")
            with pytest.raises(ExerciseNotFound):
                submit("jacobian-shape", user, {"shape": "n×m"}, "api")
            assert current_version("jacobian-shape", closed=True).exercise.status == status
        set_status("jacobian-shape", "hidden")  # open to whoever has the link, not listed
        assert submit("jacobian-shape", user, {"shape": "n×m"}, "api")[0].score == 1
        with pytest.raises(ValueError):
            set_status("jacobian-shape", "gone")


def test_an_import_whose_self_test_fails_writes_nothing_unless_as_draft(app, tmp_path):
    from grader.services.exercises import SelfTestFailed
    from tests.conftest import EXERCISES

    text = (EXERCISES / "jacobian-shape.yaml").read_text(encoding="utf-8")
    path = tmp_path / "wrong.yaml"
    path.write_text(text + '  - {part: shape, answer: "m×n", correct: true}\n', encoding="utf-8")
    with app.app_context():
        with pytest.raises(SelfTestFailed) as info:
            import_exercises([path], selftest=True)
        assert info.value.reports[0].slug == "jacobian-shape"
        assert _count(app, Exercise) == 0
        report = import_exercises([path], selftest=True, failing_as_draft=True)
        assert report.drafts == ["jacobian-shape"]
        assert db.session.scalar(select(Exercise.status)) == "draft"


def test_an_import_lists_the_problems_of_every_file_with_the_self_test_failures(app, tmp_path):
    """One invalid file does not hide another file's self-test failures (issue 19, item 12)."""
    from grader.catalog import CatalogError
    from grader.services.exercises import SelfTestFailed
    from tests.conftest import EXERCISES

    text = (EXERCISES / "jacobian-shape.yaml").read_text(encoding="utf-8")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text + '  - {part: shape, answer: "m×n", correct: true}\n', encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("slug: broken\ntitle: B\ntitle: C\nparts: []\n", encoding="utf-8")
    with app.app_context():
        with pytest.raises(CatalogError) as info:
            import_exercises([broken, wrong], selftest=True)
        issues = info.value.issues
        assert {Path(i.file).name for i in issues} == {"broken.yaml", "wrong.yaml"}
        [failure] = [i for i in issues if i.file.endswith("wrong.yaml")]
        shape_index = next(
            n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "- id: shape"
        )
        assert failure.field == "parts[0]" and failure.line == shape_index
        assert failure.message.startswith("self-test of part 'shape': example")
        assert _count(app, Exercise) == 0
        with pytest.raises(SelfTestFailed) as alone:
            import_exercises([wrong], selftest=True)
        assert [str(i) for i in alone.value.issues] == [str(failure)]
