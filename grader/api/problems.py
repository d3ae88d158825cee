"""RFC 9457 problem details for every API error, including the ones Flask raises itself."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from grader.bodies import JsonTooDeep

PROBLEM_TYPE_BASE = "https://backprop-grader.invalid/problems/"


class ApiProblem(Exception):
    """An API error with a status, a machine-readable type and a human-readable detail."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str = "",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers, self.extra = headers or {}, extra


def problem_response(
    status: int,
    kind: str,
    title: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Return an ``application/problem+json`` response."""
    body = {"type": PROBLEM_TYPE_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _retry_after_seconds() -> int:
    """Return the seconds until the breached rate limit resets (at least 1)."""
    import time

    from grader.extensions import limiter

    current = limiter.current_limit
    if current is None:
        return 1
    return max(1, int(current.reset_at - time.time()))


def _wants_problem() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    """Make every error under /api/ a problem+json response (others keep Flask's pages)."""

    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(
            exc.status, exc.kind, exc.title, exc.detail, exc.headers, **exc.extra
        )

    @app.errorhandler(JsonTooDeep)
    def _json_too_deep(exc: JsonTooDeep) -> Response | HTTPException:
        if not _wants_problem():
            return exc
        return problem_response(400, "json-too-deep", "Bad Request", exc.description or "")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | HTTPException:
        if not _wants_problem():
            return exc
        kind = (exc.name or "error").lower().replace(" ", "-")
        headers: dict[str, str] = {}
        detail = exc.description or ""
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            detail = f"The body is larger than the {limit} bytes this server accepts."
        if exc.code == 429:
            retry_after = _retry_after_seconds()
            headers["Retry-After"] = str(retry_after)
            detail = (
                f"Rate limit exceeded ({exc.description}) for this token; retry in "
                f"{retry_after} seconds."
            )
        return problem_response(exc.code or 500, kind, exc.name, detail, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        from grader.extensions import db

        db.session.rollback()  # the failed request's transaction must not leak into the next
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_problem():
            return problem_response(
                500, "internal-error", "Internal Server Error", "The error has been logged."
            )
        return Response("Internal Server Error", status=500, mimetype="text/plain")
