"""The grader command: validate, import, grade, users and tokens."""

import json

from sqlalchemy import select

from grader.extensions import db
from grader.models import ApiToken, User
from grader.services.users import hash_token


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


def test_grade_prints_result_object_and_is_reproducible(runner):
    args = [
        "grade",
        "jacobian-shape",
        "--answers",
        '{"shape": "(n, m)", "dJ_dW1": "d×h"}',
        "--seed",
        "7",
    ]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.output[first.output.index("{") :])
    assert result["seed"] == 7 and result["score"] == 1.0
    assert {p["id"]: p["correct"] for p in result["parts"]}["shape"] is True
    second = runner.invoke(args=args)
    assert second.output == first.output


def test_grade_rejects_bad_json_and_unknown_slug(runner):
    assert runner.invoke(args=["grade", "jacobian-shape", "--answers", "{"]).exit_code == 1
    result = runner.invoke(args=["grade", "nope", "--answers", "{}"])
    assert result.exit_code == 1 and "No exercise 'nope'" in result.output


def test_users_create(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Ann@Example.com",
            "--role",
            "instructor",
            "--password",
            "long-enough",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ann@example.com" and user.role == "instructor"
        assert user.password_hash and "long-enough" not in user.password_hash
    again = runner.invoke(
        args=[
            "users",
            "create",
            "ann@example.com",
            "--role",
            "student",
            "--password",
            "long-enough",
        ]
    )
    assert again.exit_code == 1 and "exists already" in again.output


def test_tokens_create_prints_token_last_and_stores_only_hash(app, runner):
    result = runner.invoke(args=["tokens", "create", "lms", "--scope", "submit"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("bpg_")
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hash_token(token) and row.scopes == "submit"
        assert token not in (row.token_hash + row.name + row.scopes)


def test_demo_is_idempotent(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "student@example.com" in result.output
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 2


def test_database_without_schema_is_a_message_not_a_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    grader = Path(sys.executable).parent / "grader"
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}",
        "GRADER_INSTANCE_PATH": str(tmp_path),
    }
    result = subprocess.run([str(grader), "review"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "run `grader db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_queue_sweep_requeues_stale_submissions(imported, runner, monkeypatch):
    import grader.tasks as tasks
    from grader.models import Submission
    from grader.services import grading
    from grader.services.users import lms_user

    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    real = tasks.enqueue
    monkeypatch.setattr(tasks, "enqueue", lambda _id: None)  # the broker lost it
    with imported.app_context():
        row, _ = grading.submit(
            "jacobian-shape", lms_user("s-1"), {"vector_or_matrix": ["dJ_db1", "dJ_do"]}, "cli"
        )
        assert row.status == "queued"
        sid = row.id
    monkeypatch.setattr(tasks, "enqueue", real)
    assert "re-queued 0 submission(s)" in runner.invoke(args=["queue", "sweep"]).output
    result = runner.invoke(args=["queue", "sweep", "--older-than", "-1"])
    assert f"re-queued 1 submission(s): [{sid}]" in result.output
    with imported.app_context():
        assert db.session.get(Submission, sid).status == "graded"
