"""RFC 9457 problem details for every API error, including the ones Flask raises itself."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE_BASE = "https://backprop-grader.invalid/problems/"


class ApiProblem(Exception):
    """An API error with a status, a machine-readable type and a human-readable detail."""

    def __init__(
        self, status: int, kind: str, title: str, detail: str = "",
        headers: dict[str, str] | None = None, **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers, self.extra = headers or {}, extra


def problem_response(
    status: int, kind: str, title: str, detail: str = "", headers: dict[str, str] | None = None,
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


def _wants_problem() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    """Make every error under /api/ a problem+json response (others keep Flask's pages)."""

    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.kind, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | HTTPException:
        if not _wants_problem():
            return exc
        kind = (exc.name or "error").lower().replace(" ", "-")
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return problem_response(exc.code or 500, kind, exc.name, exc.description or "", headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_problem():
            return problem_response(500, "internal-error", "Internal Server Error",
                                    "The error has been logged.")
        return Response("Internal Server Error", status=500, mimetype="text/plain")
