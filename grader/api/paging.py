"""Links between the pages of a list: ``links.self`` and ``links.next`` (absolute URLs)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import request, url_for

from grader.api.problems import ApiProblem
from grader.services.changes import encode_change_cursor


def _url(**changes: str | int | None) -> str:
    args: dict[str, Any] = request.args.to_dict() | {k: v for k, v in changes.items()}
    args = {k: v for k, v in args.items() if v is not None}
    return url_for(request.endpoint or "", **(request.view_args or {}), **args, _external=True)


def page_links(next_cursor: str | None) -> dict[str, str | None]:
    """Return ``{"self", "next"}`` for the current request; ``next`` is None on the last page."""
    return {
        "self": _url(),
        "next": _url(cursor=next_cursor) if next_cursor is not None else None,
    }


def change_links(next_after: int | None, resume_after: int) -> dict[str, str | None]:
    """Return ``{"self", "next", "resume"}`` of a page of a change-ordered list: ``next`` while
    there are more changes now, ``resume`` to call later for what changes after this page."""
    links = page_links(None if next_after is None else encode_change_cursor(next_after))
    return links | {"resume": _url(cursor=encode_change_cursor(resume_after))}


def encode_text_cursor(value: str) -> str:
    """Return an opaque cursor holding ``value``."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_text_cursor(cursor: str | None) -> str | None:
    """Return the value of a cursor from ``encode_text_cursor``; raise a 400 problem if it is
    not one."""
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_cursor() from None


def bad_cursor() -> ApiProblem:
    """Return the problem for a cursor this server did not issue."""
    return ApiProblem(
        400,
        "invalid-cursor",
        "Bad Request",
        "The cursor is not one this server issued; follow links.next.",
    )
