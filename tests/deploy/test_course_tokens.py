"""Course tokens under a real gunicorn with 2 workers, on SQLite and (with -m db) PostgreSQL:
a token revoked through the API by its course's admin token, and a token whose expiry time
passes, are refused (401) on the next request whichever worker serves it.

Which worker answered is read from the per-worker metric files, as in test_revocation.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from grader.extensions import db
from grader.models import ApiToken, Exercise, utcnow
from tests.deploy.conftest import serve_app
from tests.deploy.test_revocation import post_each_on_a_new_connection, submissions_by_worker

pytestmark = pytest.mark.slow


@pytest.fixture()
def served(tmp_path, database_url):
    """The app under gunicorn (2 workers of 2 threads) on this test's own database."""
    yield from serve_app(tmp_path, url=database_url)


def _until_both_workers(base, token, status, folder, scratch, before=None):
    """Post submissions with ``token`` until each of the 2 workers has answered ``status`` (more
    often than in ``before``); every answer must be ``status``. Return the counts per worker."""
    counts: dict[str, float] = {}
    for round_ in range(10):
        assert set(post_each_on_a_new_connection(base, token, 16)) == {int(status)}
        counts = submissions_by_worker(folder, status, scratch / str(round_))
        grown = [pid for pid, n in counts.items() if n > (before or {}).get(pid, 0)]
        if len(grown) >= 2:
            return counts
    raise AssertionError(f"not every worker answered {status}: {counts}")


def test_revoked_and_expired_course_tokens_get_401_in_every_worker(served, tmp_path):
    from grader.services.courses import create_course, ensure_assignment
    from grader.services.users import create_token

    base, _token, _log, _process, app = served
    folder = tmp_path / "prom"
    with app.app_context():
        course = create_course("alpha", "Alpha")
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "jacobian-shape"))
        ensure_assignment(course, exercise)
        db.session.commit()
        lms_row, lms = create_token("lms", ("submit", "read:scores"), course)
        _admin_row, admin = create_token("alpha admin", ("admin",), course)
        short_row, short = create_token(
            "short", ("submit",), course, expires_at=utcnow() + timedelta(hours=1)
        )
        lms_id, short_id = lms_row.id, short_row.id
    # Both workers have served both tokens (and so could remember them).
    _until_both_workers(base, lms, "201", folder, tmp_path / "lms")
    _until_both_workers(base, short, "201", folder, tmp_path / "short")

    revoked = httpx.delete(
        f"{base}/api/v1/tokens/{lms_id}", headers={"Authorization": f"Bearer {admin}"}, timeout=30
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = _until_both_workers(base, lms, "401", folder, tmp_path / "revoked")

    with app.app_context():  # the expiry passes (set in the database, as time would)
        db.session.get(ApiToken, short_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    _until_both_workers(base, short, "401", folder, tmp_path / "expired", before=refused)
