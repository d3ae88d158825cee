"""Limits on request bodies, applied before any view, service or kind reads them.

- **Size.** ``MAX_CONTENT_LENGTH`` (``GRADER_MAX_BODY_BYTES``, 256 KiB) is Werkzeug's limit:
  a ``Content-Length`` over it is a 413. A body sent chunked has no length, and Werkzeug then
  reads at most the limit and stops: the truncated JSON was refused as malformed (400).
  ``ChunkedBodyLimit`` reads such a body first, at most one byte past the limit, and hands it
  on with the length it had, so the same check answers 413. Behind the proxy
  (docs/deployment.md) nginx does the same (it reads a chunked body whole and sends on its
  length) and refuses a body over ``client_max_body_size`` itself.
- **Depth.** JSON nested deeper than ``MAX_JSON_DEPTH`` is refused with a 400 problem
  ``json-too-deep`` before it is parsed: code that walks an answer recursively (checks of the
  answer, the kinds) then never meets a depth near Python's recursion limit. The check reads
  the raw bytes without recursion; a body with at most ``MAX_JSON_DEPTH`` brackets in all is
  not even scanned.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

# The deepest legitimate answer (a graph object: {"nodes": [{...}], "edges": [[...]]}) is 4.
MAX_JSON_DEPTH = 32

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Return True when the JSON text ``data`` nests arrays and objects deeper than ``limit``.

    Brackets inside strings do not count. Runs in time linear in ``len(data)``, without
    recursion and without parsing; ``data`` need not be valid JSON."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0) > limit


class JsonTooDeep(BadRequest):
    """A JSON body nested deeper than ``MAX_JSON_DEPTH`` (the API answers it with the problem
    ``json-too-deep``, ``grader.api.problems``)."""

    description = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."


def _refuse_deep_json() -> None:
    """Before each request: refuse a JSON body nested deeper than ``MAX_JSON_DEPTH``."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return
    if json_depth_exceeds(request.get_data(cache=True)):  # 413 when over the size limit
        raise JsonTooDeep()


class ChunkedBodyLimit:
    """WSGI middleware: read a chunked request body (no ``Content-Length``) before the app,
    at most one byte past ``MAX_CONTENT_LENGTH``, and pass it on with its length.

    The app then sees an ordinary body with a ``Content-Length``, and Werkzeug refuses one over
    the limit with 413 as it does for any other. Only servers that end the input stream
    themselves (``wsgi.input_terminated``: gunicorn, Werkzeug's server) send such a body on."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable:
        encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if "chunked" in encoding and environ.get("wsgi.input_terminated"):
            limit = self.app.config.get("MAX_CONTENT_LENGTH")
            stream = environ["wsgi.input"]
            data = _read_at_most(stream, None if limit is None else limit + 1)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.wsgi_app(environ, start_response)


def _read_at_most(stream: Any, size: int | None) -> bytes:
    """Return up to ``size`` bytes of ``stream`` (all of it when ``size`` is None)."""
    if size is None:
        return stream.read()
    parts, left = [], size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def init_app(app: Flask) -> None:
    """Install both limits on ``app``."""
    app.wsgi_app = ChunkedBodyLimit(app)  # type: ignore[method-assign]
    app.before_request(_refuse_deep_json)


__all__ = ["MAX_JSON_DEPTH", "ChunkedBodyLimit", "JsonTooDeep", "init_app", "json_depth_exceeds"]
