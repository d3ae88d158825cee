"""The API's rate limit under a real gunicorn with 2 workers: per token, not per worker, when
Redis holds the counts."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from tests.deploy.conftest import serve_app

# A Redis DB number of these tests' own (flushed before and after).
LIMIT_REDIS = os.environ.get("GRADER_DEPLOY_LIMIT_REDIS", "redis://127.0.0.1:6379/11")
LIMIT = 20


@pytest.fixture()
def limit_redis():
    import redis

    client = redis.Redis.from_url(LIMIT_REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client.flushdb()
    yield LIMIT_REDIS
    client.flushdb()
    client.close()


def _requests_on_new_connections(base: str, token: str, count: int) -> list[httpx.Response]:
    """Send ``count`` GETs, each on a connection of its own, so both workers take some."""
    return [
        httpx.get(
            base + "/api/v1/exercises",
            headers={"Authorization": f"Bearer {token}", "Connection": "close"},
            timeout=10,
        )
        for _ in range(count)
    ]


def _check_per_token(served) -> None:
    base, token, _log, _process, _app = served
    responses = _requests_on_new_connections(base, token, 2 * LIMIT)
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * LIMIT + [429] * LIMIT, statuses
    remaining = [int(re.search(r";r=(\d+)", r.headers["RateLimit"])[1]) for r in responses]
    assert remaining[:LIMIT] == list(range(LIMIT - 1, -1, -1))  # one count, never jumping up


@pytest.mark.slow
def test_the_limit_holds_per_token_across_workers_with_the_brokers_redis(tmp_path, limit_redis):
    """With 2 workers the counts lived in each worker's memory: 40 requests a minute passed a
    limit of 20, and the remaining count jumped up and down. The Redis configured for the
    queue now holds them too."""
    served = serve_app(
        tmp_path,
        workers=2,
        GRADER_API_RATE_LIMIT=f"{LIMIT}/minute",
        CELERY_BROKER_URL=limit_redis,
        RATELIMIT_STORAGE_URI="",
    )
    try:
        _check_per_token(next(served))
    finally:
        served.close()


@pytest.mark.slow
def test_the_limit_holds_per_token_across_workers_with_its_own_storage(tmp_path, limit_redis):
    served = serve_app(
        tmp_path,
        workers=2,
        GRADER_API_RATE_LIMIT=f"{LIMIT}/minute",
        RATELIMIT_STORAGE_URI=limit_redis,
    )
    try:
        _check_per_token(next(served))
    finally:
        served.close()
