"""The LTI 1.3 tool's pages (DESIGN 11): /lti/login, /lti/launch, /lti/jwks and the exercise
picker of Deep Linking. Thin: the checks and the mapping live in ``grader.lti``."""

from __future__ import annotations

import logging
import math
import time

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import RequestLimit
from flask_login import login_user

from grader.extensions import csrf, db, limiter
from grader.lti import cookies
from grader.lti.ags import recent, resend_now
from grader.lti.deeplink import DeepLinkRequest, pickable_exercises, response_jwt
from grader.lti.keys import jwks
from grader.lti.launch import accept
from grader.lti.nrps import RosterError, contexts, find_context, pull_roster
from grader.lti.oidc import LaunchRefused, start_login, verify_launch
from grader.lti.registry import registrations
from grader.models import Assignment, Course, User
from grader.services.courses import assignment_for
from grader.web.auth import SessionUser, instructor_required
from grader.web.blueprint import CONTENT_SECURITY_POLICY, bp

log = logging.getLogger(__name__)
DEEP_LINK = "lti_deep_link"
LTI_COURSE = "lti_course"  # the session's course: the LMS context it was launched from


def lti_assignment(slug: str) -> Assignment | None:
    """Return the assignment of ``slug`` in the course of this LTI session, or None (not an
    LTI session, or the exercise is not set in that course): where the web form submits."""
    course_id = session.get(LTI_COURSE)
    course = db.session.get(Course, course_id) if isinstance(course_id, int) else None
    return assignment_for(course, slug) if course is not None else None


def refused(reason: str, code: int = 400) -> ResponseReturnValue:
    """Return the refusal page (frameable: the LMS shows it in its iframe) and log why."""
    log.warning("LTI refused (%s %s): %s", request.method, request.path, reason)
    response = current_app.make_response((render_template("lti/refused.html", reason=reason), code))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return cookies.allow_framing(response, ["*"])


def _lti_login_limit() -> str:
    return str(current_app.config["GRADER_LTI_LOGIN_RATE_LIMIT"])


def _too_many_logins(limit: RequestLimit) -> Response:
    """The refusal page, in the LMS's frame, for an address over the LTI login limit."""
    response = current_app.make_response(
        refused("Too many logins from this address. Wait a minute, then launch again.", 429)
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(limit.reset_at - time.time())))
    return response


@bp.route("/lti/login", methods=["GET", "POST"])
@limiter.limit(_lti_login_limit, on_breach=_too_many_logins)
def lti_login() -> ResponseReturnValue:
    """OIDC third-party-initiated login: send the browser to the platform's auth URL."""
    params = {k: v for k, v in (request.form if request.method == "POST" else request.args).items()}
    try:
        login = start_login(params)
    except LaunchRefused as exc:
        return refused(str(exc))
    response = redirect(login.url, code=302)
    cookies.set_state_cookie(response, login.state)
    return response


@bp.post("/lti/launch")
def lti_launch() -> ResponseReturnValue:
    """Check the platform's id_token, sign the user in and show the exercise (or the picker)."""
    state = request.form.get("state", "")
    try:
        launch = verify_launch(
            request.form.get("id_token", ""),
            state,
            cookies.state_cookie(request.cookies, state),
            cooldown=float(current_app.config.get("LTI_JWKS_COOLDOWN", 10.0)),
        )
        launched = accept(launch)
    except LaunchRefused as exc:
        return refused(str(exc))
    user = db.session.get(User, launched.user_id)
    assert user is not None
    session.clear()
    login_user(SessionUser(user))
    session[LTI_COURSE] = launched.course_id
    frame = {o for o in (request.headers.get("Origin", ""), launch.registration.login_url) if o}
    session[cookies.LTI_FRAME] = sorted(
        {origin for o in frame if (origin := cookies.origin_of(o)) is not None}
    )
    if launched.exercise_slug is None:
        session[DEEP_LINK] = DeepLinkRequest.from_claims(
            launch.registration.id, launch.claims
        ).to_dict()
        return redirect(url_for("web.lti_deep_link"))
    return redirect(url_for("web.exercise", slug=launched.exercise_slug))


@bp.get("/lti/jwks")
def lti_jwks() -> ResponseReturnValue:
    """The tool's public keys (JWKS), the signing key and recently retired ones."""
    response = jsonify(jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _deep_link_request() -> DeepLinkRequest | None:
    saved = session.get(DEEP_LINK)
    return DeepLinkRequest(**saved) if isinstance(saved, dict) else None


@bp.route("/lti/deep-link", methods=["GET", "POST"])
def lti_deep_link() -> ResponseReturnValue:
    """Show the exercise picker of a deep linking launch; on POST answer the platform."""
    deep_link = _deep_link_request()
    if deep_link is None:
        return refused("There is no exercise to choose here: start from the LMS.", 403)
    if request.method == "GET":
        return render_template("lti/pick.html", exercises=pickable_exercises())
    slugs = request.form.getlist("exercise")
    if not slugs:
        return render_template(
            "lti/pick.html", exercises=pickable_exercises(), error="Choose at least one exercise."
        ), 400
    try:
        token = response_jwt(deep_link, slugs, url_for("web.lti_launch", _external=True))
    except LookupError as exc:
        return refused(f"The exercises could not be linked: {exc}.")
    session.pop(DEEP_LINK, None)
    response = current_app.make_response(
        render_template("lti/deep_link_return.html", url=deep_link.return_url, jwt=token)
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    origin = cookies.origin_of(deep_link.return_url)
    if origin:
        cookies.allow_form_action(response, origin)
    return response


csrf.exempt(lti_login)
csrf.exempt(lti_launch)


@bp.get("/instructor/lti")
@instructor_required
def lti_overview() -> ResponseReturnValue:
    """Show the registered platforms, the tool's URLs, the LMS courses and the passbacks."""
    base = current_app.config["GRADER_PUBLIC_URL"]
    return render_template(
        "lti/overview.html",
        registrations=registrations(),
        tool_urls={
            "Login (OIDC initiation) URL": f"{base}/lti/login",
            "Launch / redirect URL": f"{base}/lti/launch",
            "Public keyset (JWKS) URL": f"{base}/lti/jwks",
        },
        contexts=contexts(),
        passbacks=recent(50),
    )


@bp.post("/instructor/lti/passbacks/retry")
@instructor_required
def lti_passback_retry() -> ResponseReturnValue:
    """Send every failed (or never queued) passback again now; report how many went."""
    report, failing = resend_now()
    flash(report, "error" if failing else "info")
    return redirect(url_for("web.lti_overview"))


@bp.post("/instructor/lti/contexts/<int:context_id>/roster")
@instructor_required
def lti_roster(context_id: int) -> ResponseReturnValue:
    """Pull an LMS course's members (Names and Role Provisioning) and enrol them."""
    context = find_context(str(context_id))
    if context is None:
        abort(404)
    try:
        roster = pull_roster(context)
    except RosterError as exc:
        flash(str(exc), "error")
    else:
        counts = ", ".join(f"{n} {role}" for role, n in sorted(roster.by_role.items()))
        flash(f"Roster of {context.title}: {counts or 'nobody'}; {roster.new_users} new.", "info")
    return redirect(url_for("web.lti_overview"))
