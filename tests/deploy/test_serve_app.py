"""The gunicorn helper of the deploy tests leaves no connection of the test process open."""

from __future__ import annotations

import pytest

from tests.conftest import PG_URL, _pg_admin
from tests.deploy.conftest import serve_app


@pytest.mark.skipif(not PG_URL, reason="counts connections on the PostgreSQL server")
def test_serving_closes_the_test_process_connections(tmp_path, database_url):
    """Left open in the setup app's pool, a connection outlives the test and warns
    (ResourceWarning) in whichever later test the app is garbage collected."""
    name = database_url.rpartition("/")[2]
    for _served in serve_app(tmp_path, workers=1, threads=1, url=database_url):
        pass
    with _pg_admin(PG_URL) as admin:
        [(count,)] = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    assert count == 0
