"""Structured request logs: one JSON line per request, with a request id that travels along.

``init_app(app)`` gives every request an id (the caller's ``X-Request-ID`` when it is a sane
token, else a fresh one), returns it in the ``X-Request-ID`` response header and, when the
request ends, logs ``{"time", "level", "logger", "message", "request_id", "method", "path",
"status", "duration_ms", "remote_addr", "user_id", "token_id"}`` on the ``grader.request``
logger. ``JsonFormatter`` formats any log record as one JSON line and adds the current request
id, so an exception logged inside a view can be joined with its request line.
``GunicornJsonLogger`` makes gunicorn's access log JSON too (see ``gunicorn.conf.py``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from gunicorn.glogging import Logger as GunicornLogger
from sqlalchemy import inspect as sa_inspect

REQUEST_LOGGER = "grader.request"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def _iso_now(created: float | None = None) -> str:
    moment = datetime.fromtimestamp(created if created is not None else time.time(), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_request_id() -> str | None:
    """Return the id of the request being served, or None outside a request."""
    if not has_request_context():
        return None
    return g.get("request_id")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line (fields passed with ``extra=`` are kept)."""
        body: dict[str, Any] = {
            "time": _iso_now(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            body["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in body:
                body[key] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, separators=(",", ":"))


def _request_logger() -> logging.Logger:
    """Return the ``grader.request`` logger, given a JSON handler on stderr once."""
    logger = logging.getLogger(REQUEST_LOGGER)
    if not any(getattr(h, "_grader_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._grader_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _user_id() -> int | None:
    # Flask-Login caches the loaded user in g._login_user; reading it never queries the database.
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return _row_id(getattr(user, "user", user))  # the web wraps the model in SessionUser
    return None


def _row_id(row: Any) -> Any:
    """Return an ORM row's primary key without loading anything: after a commit its attributes
    are expired, and reading ``row.id`` would query a database that may be down."""
    if row is None:
        return None
    identity = sa_inspect(row).identity
    return identity[0] if identity else None


def request_fields(response: Response) -> dict[str, Any]:
    """Return the structured fields of the current request's log line for ``response``."""
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started is not None else None
    token = g.get("api_token")
    return {
        "request_id": g.get("request_id"),
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(duration, 3) if duration is not None else None,
        "remote_addr": request.remote_addr,
        "user_id": _user_id(),
        "token_id": _row_id(token),
    }


def _finish_request(response: Response) -> Response:
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    _request_logger().info("request", extra=request_fields(response))
    return response


def init_app(app: Flask) -> None:
    """Give ``app`` request ids and one JSON log line per request (``grader.request`` logger)."""
    if app.extensions.get("grader_observability"):
        return
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.extensions["grader_observability"] = True


class GunicornJsonLogger(GunicornLogger):
    """Gunicorn's logger with a JSON access log (one object per response)."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Write the access line as JSON: time, request id, method, path, status, duration."""
        if not self.access_log_enabled:
            return
        headers = dict((name.lower(), value) for name, value in (resp.headers or ()))
        body = {
            "time": _iso_now(),
            "logger": "gunicorn.access",
            "request_id": headers.get("x-request-id"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": getattr(resp, "status_code", None),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(json.dumps(body, separators=(",", ":")))
        except Exception:  # a log line must never break a response
            self.error("Failed to write the JSON access log line")
