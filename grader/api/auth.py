"""Bearer-token authentication and scope checks for the REST API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from grader.api.problems import ApiProblem
from grader.services.users import token_from_secret


def require_scope(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view: 401 without a valid token, 403 when the token lacks ``scope``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise ApiProblem(401, "unauthorized", "Unauthorized",
                                 "Send 'Authorization: Bearer <token>'.",
                                 headers={"WWW-Authenticate": "Bearer"})
            token = token_from_secret(secret.strip())
            if token is None:
                raise ApiProblem(401, "unauthorized", "Unauthorized",
                                 "The token is unknown or revoked.",
                                 headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if scope not in token.scope_set and "admin" not in token.scope_set:
                raise ApiProblem(403, "insufficient-scope", "Forbidden",
                                 f"This token lacks the scope {scope!r}.")
            g.api_token = token
            return view(*args, **kwargs)

        return wrapped

    return decorator
