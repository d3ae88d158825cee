"""Bearer-token authentication and scope checks for the REST API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from grader.api.problems import ApiProblem
from grader.models import ApiToken
from grader.services.users import token_from_secret

_MISSING = object()
# The scope each API view requires, by view function name (what the OpenAPI document declares
# in each operation's security requirement).
REQUIRED_SCOPES: dict[str, str] = {}


def bearer_secret() -> str | None:
    """Return the token sent as ``Authorization: Bearer <token>``, or None."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def current_token() -> ApiToken | None:
    """Return the live token of this request, or None (looked up once per request)."""
    cached = g.get("_api_token_lookup", _MISSING)
    if cached is _MISSING:
        secret = bearer_secret()
        cached = token_from_secret(secret) if secret else None
        g._api_token_lookup = cached
    return cached


def require_scope(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view: 401 without a valid token, 403 when the token lacks ``scope``
    (``admin`` grants every scope). Sets ``g.api_token``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        REQUIRED_SCOPES[view.__name__] = scope

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if bearer_secret() is None:
                raise ApiProblem(
                    401,
                    "unauthorized",
                    "Unauthorized",
                    "Send 'Authorization: Bearer <token>'.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            token = current_token()
            if token is None:
                raise ApiProblem(
                    401,
                    "unauthorized",
                    "Unauthorized",
                    "The token is unknown or revoked.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            if scope not in token.scope_set and "admin" not in token.scope_set:
                raise ApiProblem(
                    403,
                    "insufficient-scope",
                    "Forbidden",
                    f"This token lacks the scope {scope!r}.",
                    headers={
                        "WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{scope}"'
                    },
                )
            g.api_token = token
            return view(*args, **kwargs)

        return wrapped

    return decorator
