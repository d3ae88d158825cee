"""Rate limits on the API, per token (per client address without a valid token).

``GRADER_API_RATE_LIMIT`` sets the limit (``600/minute``; ``0`` turns limits off). A client
over its limit gets a 429 problem with ``Retry-After``. The counts live where
``RATELIMIT_STORAGE_URI`` says: ``redis://...`` shares them between every worker process and
replica, so the limit holds per token; the default, ``memory://``, keeps them in each worker
process, so with N workers a token may get up to N times its limit (docs/deployment.md).

Every limited response says where the client stands, in the IETF fields
(draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Policy: "api";q=600;w=60`` (quota and
window in seconds) and ``RateLimit: "api";r=597;t=42`` (remaining, seconds until the window
resets), and in the ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (epoch seconds)
fields that clients written against earlier versions read. ``Retry-After`` comes only with a
429 (and a 503, grader.resilience), where it tells the client to wait; Flask-Limiter's own
headers would send it on every response, so they are off (``RATELIMIT_HEADERS_ENABLED``).
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app
from flask_limiter.util import get_remote_address

from grader.api.auth import current_token
from grader.extensions import limiter


def _configured() -> str:
    return str(current_app.config.get("GRADER_API_RATE_LIMIT") or "0").strip()


def rate_limit_off() -> bool:
    """Return True when limits are turned off (``GRADER_API_RATE_LIMIT=0``)."""
    return _configured() in ("0", "")


def rate_limit_value() -> str:
    """Return the configured limit string, e.g. ``600/minute``.

    Flask-Limiter parses the string even for an exempt request, so "off" still returns a
    well-formed limit; ``rate_limit_off`` makes sure it is never applied.
    """
    return "1/second" if rate_limit_off() else _configured()


def rate_limit_key() -> str:
    """Return the bucket of this request: the token's hash, else the client address.

    Only a live token gets its own bucket, so inventing tokens does not escape the limit.
    """
    token = current_token()
    return f"token:{token.token_hash}" if token is not None else f"addr:{get_remote_address()}"


POLICY_NAME = "api"


def add_rate_limit_headers(response: Response) -> Response:
    """Add the ``RateLimit``, ``RateLimit-Policy`` and ``X-RateLimit-*`` fields of the limit
    this request counted against (none when limits are off)."""
    current = limiter.current_limit
    if current is None:
        return response
    quota, window = current.limit.amount, current.limit.get_expiry()
    remaining = max(0, current.remaining)
    reset_in = max(0, int(current.reset_at - time.time()))
    response.headers["RateLimit-Policy"] = f'"{POLICY_NAME}";q={quota};w={window}'
    response.headers["RateLimit"] = f'"{POLICY_NAME}";r={remaining};t={reset_in}'
    response.headers["X-RateLimit-Limit"] = str(quota)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(int(current.reset_at))
    return response


def limit_blueprint(blueprint: Blueprint) -> None:
    """Apply the configured per-token limit to every view of ``blueprint``, and say where the
    client stands in each response's headers."""
    # One budget for all the blueprint's views (``limit`` would give each view its own).
    limiter.shared_limit(
        rate_limit_value, scope=POLICY_NAME, key_func=rate_limit_key, exempt_when=rate_limit_off
    )(blueprint)
    blueprint.after_request(add_rate_limit_headers)
