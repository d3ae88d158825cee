"""Cookies and framing for LTI launches (DESIGN 11).

A page launched from an LMS lives in the LMS's iframe, on another site: its cookies must be
``SameSite=None; Secure`` to be sent at all, and ``Partitioned`` (CHIPS) so that browsers that
block third-party cookies keep them, in a jar of that LMS's site only. Only sessions that
began with an LTI launch get these attributes (the session's ``LTI_FRAME`` key holds the
origins allowed to frame it); the stand-alone site keeps ``SameSite=Lax`` and refuses framing.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, has_request_context, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

LTI_FRAME = "lti_frame"
STATE_COOKIE_PREFIX = "lti_state_"
STATE_COOKIE_AGE = 600
FRAME_ANCESTORS = re.compile(r"frame-ancestors [^;]*")
FORM_ACTION = re.compile(r"form-action [^;]*")


def in_lti_session() -> bool:
    """True inside a request whose session began with an LTI launch."""
    return has_request_context() and bool(session.get(LTI_FRAME))


class LtiAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; cross-site cookie attributes for LTI sessions only."""

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """Return ``None`` (SameSite=None) for an LTI session, else the configured value."""
        return "None" if in_lti_session() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Return True for an LTI session (browsers drop SameSite=None without Secure)."""
        return True if in_lti_session() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        """Return True for an LTI session (a CHIPS cookie, keyed by the LMS's site)."""
        return True if in_lti_session() else super().get_cookie_partitioned(app)


def origin_of(url: str) -> str | None:
    """Return the ``scheme://host[:port]`` of an http(s) URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def allow_framing(response: Response, origins: list[str]) -> Response:
    """Let ``origins`` frame ``response`` (CSP frame-ancestors; X-Frame-Options dropped)."""
    csp = response.headers.get("Content-Security-Policy")
    ancestors = "frame-ancestors " + (" ".join(origins) if origins else "'none'")
    if csp:
        response.headers["Content-Security-Policy"] = FRAME_ANCESTORS.sub(ancestors, csp)
    else:
        response.headers["Content-Security-Policy"] = ancestors
    response.headers.pop("X-Frame-Options", None)
    return response


def allow_form_action(response: Response, origin: str) -> None:
    """Let the page of ``response`` post a form to ``origin`` as well as to itself."""
    csp = response.headers.get("Content-Security-Policy", "")
    if FORM_ACTION.search(csp):
        response.headers["Content-Security-Policy"] = FORM_ACTION.sub(
            f"form-action 'self' {origin}", csp
        )


def frame_lti_session(response: Response) -> Response:
    """After every request: an LTI session's pages may be framed by its LMS."""
    origins: Any = session.get(LTI_FRAME) if has_request_context() else None
    if isinstance(origins, list) and origins:
        allow_framing(response, [o for o in origins if isinstance(o, str)])
    return response


def set_state_cookie(response: Response, state: str) -> None:
    """Keep a login's state in this browser (cross-site, partitioned) for its launch."""
    response.set_cookie(
        STATE_COOKIE_PREFIX + state[:16],
        state,
        max_age=STATE_COOKIE_AGE,
        path="/lti/",
        secure=True,
        httponly=True,
        samesite="None",
        partitioned=True,
    )


def state_cookie(cookies: Any, state: str) -> str | None:
    """Return the state this browser's cookie keeps for ``state``'s login, or None."""
    value = cookies.get(STATE_COOKIE_PREFIX + state[:16])
    return value if isinstance(value, str) else None


def init_app(app: Flask) -> None:
    """Use the LTI-aware session cookies and framing on ``app``."""
    app.session_interface = LtiAwareSessionInterface()
    app.after_request(frame_lti_session)
