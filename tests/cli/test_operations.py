"""``grader queue sweep``."""

from grader.extensions import db


def test_queue_sweep_requeues_stale_submissions(imported, runner, monkeypatch):
    from grader.models import Submission
    from grader.services import grading
    from grader.services.users import lms_user

    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    monkeypatch.setitem(imported.extensions, grading.ENQUEUE, lambda _id: None)  # lost
    with imported.app_context():
        row, _ = grading.submit(
            "jacobian-shape", lms_user("s-1"), {"vector_or_matrix": ["dJ_db1", "dJ_do"]}, "cli"
        )
        assert row.status == "queued"
        sid = row.id
    assert "re-queued 0 submission(s)" in runner.invoke(args=["queue", "sweep"]).output
    result = runner.invoke(args=["queue", "sweep", "--older-than", "-1"])
    assert f"re-queued 1 submission(s): [{sid}]" in result.output
    with imported.app_context():
        assert db.session.get(Submission, sid).status == "graded"
