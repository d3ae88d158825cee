"""A revoked token is refused on the very next request, whichever gunicorn worker serves it.

Which worker served a request is read from the metrics each worker writes to its own files
(``PROMETHEUS_MULTIPROC_DIR``): the request-latency histogram counts responses by status.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, multiprocess
from sqlalchemy import select

from grader.extensions import db
from grader.models import ApiToken
from grader.services.users import revoke_token
from tests.api.helpers import ANSWERS, SUBMIT_URL
from tests.deploy.test_gunicorn import _serve

pytestmark = pytest.mark.slow


@pytest.fixture()
def served(tmp_path):
    """The app under gunicorn with 2 workers of 2 threads."""
    yield from _serve(tmp_path)


def submissions_by_worker(folder: Path, status: str, scratch: Path) -> dict[str, float]:
    """Return, per worker pid, how many submissions it answered with ``status``."""
    counts = {}
    for path in folder.glob("histogram_*.db"):
        pid = path.stem.rpartition("_")[2]
        alone = scratch / pid
        alone.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        counts[pid] = sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == "grader_http_request_duration_seconds_count"
            and sample.labels.get("endpoint") == "api.create_submission"
            and sample.labels.get("status") == status
        )
    return counts


def post_each_on_a_new_connection(base: str, token: str, count: int) -> list[int]:
    """Send ``count`` submissions, 8 at a time, each on a connection of its own."""

    def one(i: int) -> int:
        body = {"user": f"rev{i}", "answers": ANSWERS}
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(base + SUBMIT_URL, json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def test_a_revoked_token_gets_401_on_the_next_request_in_every_worker(served, tmp_path):
    base, token, _log, _process, app = served
    folder = tmp_path / "prom"
    accepted: dict[str, float] = {}
    for _ in range(10):  # until both workers have served the token (and so could remember it)
        assert set(post_each_on_a_new_connection(base, token, 16)) == {201}
        accepted = submissions_by_worker(folder, "201", tmp_path / "before")
        if len([pid for pid, n in accepted.items() if n]) >= 2:
            break
    assert len([pid for pid, n in accepted.items() if n]) == 2, accepted
    with app.app_context():  # as the CLI or another replica would: the database only
        revoke_token(db.session.scalar(select(ApiToken.id)))
    refused: dict[str, float] = {}
    for _ in range(10):
        assert set(post_each_on_a_new_connection(base, token, 16)) == {401}
        refused = submissions_by_worker(folder, "401", tmp_path / "after")
        if len([pid for pid, n in refused.items() if n]) >= 2:
            break
    assert len([pid for pid, n in refused.items() if n]) == 2, refused
