"""Rate limits on the API, per token (per client address without a valid token).

``GRADER_API_RATE_LIMIT`` sets the limit (``600/minute``; ``0`` turns limits off). A client
over its limit gets a 429 problem with ``Retry-After``.
"""

from __future__ import annotations

from flask import Blueprint, current_app
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


def limit_blueprint(blueprint: Blueprint) -> None:
    """Apply the configured per-token limit to every view of ``blueprint``."""
    limiter.limit(rate_limit_value, key_func=rate_limit_key, exempt_when=rate_limit_off)(blueprint)
