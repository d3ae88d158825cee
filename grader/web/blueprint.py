"""The web blueprint: security headers on every page, error pages, sign-in settings.

Views live in ``auth``, ``student``, ``instructor`` and ``preview``; they register on ``bp``.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from grader.extensions import login_manager
from grader.services.access import NoAccess

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)

# No inline script or style anywhere: templates use static files only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

ERROR_TEXT = {
    400: ("Bad request", "The form could not be read. Go back, reload the page and try again."),
    403: ("Not allowed", "Your account may not see this page."),
    404: ("Not found", "There is no such page. Check the address, or start from the exercises."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What you sent is too large. Shorten the answer or the file."),
    429: ("Too many attempts", "Wait a minute, then try again."),
}


@bp.record_once
def _configure_login(state: BlueprintSetupState) -> None:
    login_manager.login_view = "web.login"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"


@bp.after_request
def security_headers(response: Response) -> Response:
    """Add the security headers to every web response; pages of a signed-in user are private."""
    framed = "frame-ancestors 'none'" not in response.headers.get(
        "Content-Security-Policy", "frame-ancestors 'none'"
    )
    for name, value in SECURITY_HEADERS.items():
        if not (framed and name == "X-Frame-Options"):  # a page its LMS may frame (LTI)
            response.headers.setdefault(name, value)
    if response.mimetype == "text/html" and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def error_page(code: int, detail: str | None = None) -> tuple[str, int]:
    """Return the error page for an HTTP status, with an optional specific explanation."""
    title, text = ERROR_TEXT.get(code, ("Error", "Something went wrong."))
    return render_template("error.html", code=code, title=title, text=detail or text), code


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return error_page(
        400, "The form had expired or came from another site. Reload the page and submit again."
    )


@bp.errorhandler(NoAccess)
def _no_access(exc: NoAccess) -> tuple[str, int]:
    # A course, submission or user out of the signed-in user's reach looks like none at all.
    return error_page(404)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    # One that carries its own response (the LTI login limit's page in the LMS frame) keeps it.
    if exc.code is None or exc.code < 400 or exc.response is not None:
        return exc
    if request.path.startswith("/api/"):  # problem+json, from the API's own handler
        return exc
    return error_page(exc.code)
