"""Attacks through the text a run sends back: what the student's code prints or raises becomes
feedback, and must neither break storage nor make the task run the code again.

Run these on PostgreSQL too (``TEST_DATABASE_URL=... pytest -m db``): its ``jsonb`` refuses NUL
and lone surrogates that SQLite stores as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from grader.catalog import parse_exercise
from grader.extensions import db
from grader.kinds.base import PartResult
from grader.models import Submission
from tests.api.helpers import auth

from .conftest import BWRAP_MISSING, SKIP_REASON

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]
ROOT = Path(__file__).resolve().parents[2]
SPEC = parse_exercise((ROOT / "exercises" / "backprop-code.yaml").read_text())
# The reference answer, then a ``backward`` that prints a NUL and raises with a lone surrogate.
HOSTILE = SPEC.examples[0].answer + (
    "\n\ndef backward(x, y, W1, b1, W2, b2, lam):\n"
    "    print('printed \\x00 nul')\n"
    "    raise ValueError('lone \\ud800 surrogate and \\x00 nul')\n"
)
PRINTS_ONLY = SPEC.examples[0].answer + (
    "\n\n_real = backward\n"
    "def backward(x, y, W1, b1, W2, b2, lam):\n"
    "    print('printed \\x00 nul')\n"
    # a wrong answer, so the feedback shows what was printed
    "    return {k: v * 2 for k, v in _real(x, y, W1, b1, W2, b2, lam).items()}\n"
)


def _clean(text: str) -> bool:
    text.encode("utf-8")  # raises on a lone surrogate
    return "\x00" not in text


@pytest.mark.parametrize("source", [HOSTILE, PRINTS_ONLY], ids=["raises", "prints"])
def test_hostile_feedback_text_is_stored_as_graded(imported, client, make_token, source):
    response = client.post(
        "/api/v1/exercises/backprop-code/submissions",
        json={"user": "lms-text", "answers": {"code": source}},
        headers=auth(make_token()),
    )
    assert response.status_code in (201, 202), response.json
    with imported.app_context():
        row = db.session.get(Submission, response.json["id"])
        assert row.status == "graded", (row.status, row.error)
        feedback = row.parts[0]["feedback"]
        assert _clean(feedback) and "\ufffd" in feedback


def test_hostile_feedback_text_survives_grader_grade(runner, imported):
    answers = json.dumps({"code": HOSTILE})
    result = runner.invoke(args=["grade", "backprop-code", "--answers", answers])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "\ufffd" in result.output and "ValueError" in result.output


def test_a_result_that_cannot_be_stored_never_runs_the_code_again(imported, monkeypatch):
    """A task whose store fails ends the submission as ``error``; it never asks for a retry
    (with a broker, a retry runs the student's code again)."""
    import grader.kinds.code as code_module
    import grader.tasks as tasks
    from grader.services import grading
    from grader.services.users import lms_user

    runs = []
    real_run = code_module.run_code
    monkeypatch.setattr(
        code_module, "run_code", lambda *a, **k: runs.append(1) or real_run(*a, **k)
    )
    # left queued for the task below
    monkeypatch.setitem(imported.extensions, grading.ENQUEUE, lambda _id: None)
    with imported.app_context():
        user = lms_user("lms-store")
        answers = {"code": SPEC.examples[0].answer}
        submission, _ = grading.submit("backprop-code", user, answers, "api")
        submission_id = submission.id

    real_record = grading.record_parts
    failures = []

    def lost_connection_once(*args, **kwargs):
        """Storing the graded parts fails once (the connection dropped); later writes work."""
        if not failures:
            failures.append(1)
            raise OperationalError("UPDATE submissions", {}, ConnectionError("server closed"))
        return real_record(*args, **kwargs)

    monkeypatch.setattr(grading, "record_parts", lost_connection_once)
    with imported.app_context():
        # called as a worker would, outside eager mode: an exception here is a retry
        assert tasks.grade_deferred_task.run(submission_id) == "error"
    with imported.app_context():
        row = db.session.get(Submission, submission_id)
        assert row.status == "error" and "stored" in row.error
    assert runs == [1]


@pytest.mark.parametrize(
    "text", ["a\x00b", "lone \ud800", "\udcff\udcfe", "pair \U0001f600 ok", "plain"]
)
def test_storable_text_encodes_and_keeps_what_it_can(text):
    from grader.kinds.base import storable

    cleaned = storable(text)
    assert _clean(cleaned)
    assert cleaned.replace("\ufffd", "") == "".join(
        c for c in text if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF
    )


def test_part_results_are_storable_everywhere():
    result = PartResult(
        "p", 0.0, 1.0, False, "bad \x00", details={"k\ud800": ["x\x00", {"y": "\udc00"}], "n": 1}
    )
    stored = result.to_dict()
    assert _clean(json.dumps(stored, ensure_ascii=False))
    assert stored["details"]["n"] == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"user": "u", "answers": {"code": "def backward():\\n    return \'\\ud800\'\\n"}}',
        '{"user": "u\\ud800", "answers": {"code": "x = 1\\n"}}',
        '{"user": "u", "answers": {"code": "x = 1\\n", "\\udfff": "y"}}',
    ],
    ids=["answer", "user", "part-key"],
)
def test_unstorable_text_in_a_request_is_refused_not_a_500(imported, client, make_token, body):
    """A JSON escape can carry a lone surrogate into an answer or a user id: PostgreSQL's jsonb
    and text refuse it, so it is refused before anything is stored."""
    response = client.post(
        "/api/v1/exercises/backprop-code/submissions",
        data=body,
        content_type="application/json",
        headers=auth(make_token()),
    )
    assert response.status_code in (400, 422), (response.status_code, response.json)
    with imported.app_context():
        assert db.session.query(Submission).count() == 0
