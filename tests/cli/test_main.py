"""The ``grader`` command group itself: errors end with a message."""


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
