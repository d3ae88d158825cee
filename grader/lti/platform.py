"""Calling a platform's services: an OAuth 2 access token by a client assertion signed with
the tool's key (IMS Security Framework 4.1), then JSON requests with it."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from grader.lti.keys import sign
from grader.lti.models import LtiRegistration

TIMEOUT_SECONDS = 10.0
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_BODY = 5_000_000


class PlatformError(Exception):
    """A platform's service failed; ``retryable`` is True for network errors and 5xx/429."""

    def __init__(self, message: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Reply:
    """A platform's answer: status, headers and the body read (at most ``MAX_BODY``)."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body as JSON; raises ``PlatformError`` when it is not."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise PlatformError(
                "the platform answered with something that is not JSON", False
            ) from exc


def http(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Reply:
    """Send one request; return the reply for any HTTP status below 300. Raises
    ``PlatformError`` for a network error or an error status."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return Reply(response.status, dict(response.headers), response.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace")
        retryable = exc.code >= 500 or exc.code == 429
        raise PlatformError(
            f"{method} {url} answered {exc.code}: {detail}", retryable, exc.code
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise PlatformError(f"{method} {url} failed: {exc}", True) from exc


_tokens: dict[tuple[int, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached access token (tests; a token a platform refused)."""
    with _tokens_lock:
        _tokens.clear()


def access_token(registration: LtiRegistration, scope: str) -> str:
    """Return an access token for ``scope`` from the platform's token URL (cached until a
    minute before it expires). Raises ``PlatformError``."""
    key = (registration.id, scope)
    with _tokens_lock:
        cached = _tokens.get(key)
    if cached and cached[1] > time.time():
        return cached[0]
    now = int(time.time())
    assertion = sign(
        {
            "iss": registration.client_id,
            "sub": registration.client_id,
            "aud": registration.token_url,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
    )
    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        }
    ).encode()
    reply = http(
        "POST",
        registration.token_url,
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    answer = reply.json()
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str):
        raise PlatformError("the platform's token URL gave no access_token", False)
    lifetime = answer.get("expires_in", 3600)
    lifetime = lifetime if isinstance(lifetime, int | float) else 3600
    with _tokens_lock:
        _tokens[key] = (token, time.time() + max(0.0, float(lifetime) - 60))
    return token


def call(
    registration: LtiRegistration,
    scope: str,
    method: str,
    url: str,
    body: Any = None,
    content_type: str | None = None,
    accept: str | None = None,
) -> Reply:
    """Call a platform service with an access token for ``scope``; a 401 gets one new token.
    Raises ``PlatformError``."""
    data = None if body is None else json.dumps(body).encode()
    for attempt in (1, 2):
        headers = {"Authorization": "Bearer " + access_token(registration, scope)}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        try:
            return http(method, url, data, headers)
        except PlatformError as exc:
            if attempt == 1 and exc.status == 401:
                forget_tokens()
                continue
            raise
    raise AssertionError("unreachable")
