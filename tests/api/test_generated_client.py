"""A client generated from the served OpenAPI document works: openapi-python-client generates
it, mypy type-checks an LMS scenario written against it, and the scenario runs against a live
server (submit, poll, page the gradebook and the changes, export CSV)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent / "generated" / "lms_scenario.py"
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture()
def generated(live_server, tmp_path) -> Path:
    """Generate ``grader_client`` from the live server's document; return its parent folder."""
    with urllib.request.urlopen(f"{live_server}/api/v1/openapi.json", timeout=30) as reply:
        (tmp_path / "openapi.json").write_bytes(reply.read())
    # No post hooks: the generator would run ruff from PATH over the result otherwise.
    (tmp_path / "config.yaml").write_text("post_hooks: []\n", encoding="utf-8")
    out = _run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--meta",
            "none",
            "--output-path",
            "grader_client",
            "--config",
            "config.yaml",
        ],
        tmp_path,
    )
    assert "Warning" not in out, out
    return tmp_path


def test_a_generated_client_type_checks_and_runs_the_lms_scenario(
    generated, live_server, make_token
):
    env = os.environ | {"MYPYPATH": str(generated), "PYTHONPATH": str(generated)}
    checked = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--config-file",
            os.devnull,
            str(SCENARIO),
        ],
        generated,
        env,
    )
    assert "Success" in checked, checked
    env |= {"GRADER_URL": live_server, "GRADER_TOKEN": make_token()}
    summary = json.loads(_run([sys.executable, str(SCENARIO)], generated, env))
    first, second = summary["scores"]
    assert first == 1.0 and second is not None
    assert summary["updated_at"].startswith("20")
    assert summary["refused"].endswith("/unknown-part")
    assert summary["gradebook"] == [["gen-1", first], ["gen-2", second]]  # JSON has no tuples
    assert summary["changes"] == sorted(summary["changes"]) and len(summary["changes"]) == 2
    rows = list(csv.reader(io.StringIO(summary["csv"])))
    assert rows[0] == ["user_id", "exercise", "best_score", "max_score", "last_submission_at"]
    assert [row[:2] for row in rows[1:]] == [
        ["gen-1", "jacobian-shape"],
        ["gen-2", "jacobian-shape"],
    ]
    assert float(rows[1][2]) == first and float(rows[2][2]) == second
