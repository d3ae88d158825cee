"""Signing in and out with the users' passwords, and the role checks of the other pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from grader.extensions import db, limiter, login_manager
from grader.models import User
from grader.services.access import manages_a_course
from grader.services.users import UserError, authenticate, change_password, end_sessions
from grader.web.blueprint import bp

INSTRUCTOR_ROLES = frozenset({"instructor", "admin"})
F = TypeVar("F", bound=Callable[..., Any])


class SessionUser(UserMixin):
    """The signed-in ``User`` as Flask-Login wants it (the model has no ``UserMixin``).

    Attributes read through to the model; ``.user`` is the model itself, for the services.
    """

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        """Return the id kept in the session: ``<user id>:<session version>``.

        Signing out and a new password raise the user's session version
        (``services.users.end_sessions``), and ``load_user`` refuses a cookie that names an
        older one: the session ends on the server, not only in the browser that signed out."""
        return f"{self.user.id}:{self.user.session_version}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    """Return the signed-in user from the session's ``<user id>:<session version>``, or None
    (then the visitor is anonymous) when the user is gone or the version is not theirs now."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except (AttributeError, TypeError, ValueError):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version:
        return None
    return SessionUser(user)


def signed_in_user() -> User:
    """Return the model of the signed-in user (call only behind ``login_required``)."""
    return current_user.user


def is_instructor(user: Any) -> bool:
    """True for a signed-in instructor or admin."""
    return bool(user.is_authenticated and user.role in INSTRUCTOR_ROLES)


def is_course_staff(user: Any) -> bool:
    """True for a signed-in instructor or admin (site role), or an instructor or TA of some
    course: an LMS's teacher, who comes in through LTI with the site role student, teaches
    their course here too."""
    return is_instructor(user) or bool(user.is_authenticated and manages_a_course(user.user))


def course_staff_required(view: F) -> F:
    """Let through whoever teaches some course (``is_course_staff``); send anonymous visitors
    to sign in; 403 otherwise. The view still checks the course (``access``): a course the
    user does not teach is a 404 page."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_course_staff(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def instructor_required(view: F) -> F:
    """Let instructors and admins through; send anonymous visitors to sign in; 403 otherwise."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_instructor(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the exercise list."""
    if target:
        parts = urlsplit(target)
        local = not parts.scheme and not parts.netloc and target.startswith("/")
        if local and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("web.exercises")


def _login_limit() -> str:
    return current_app.config.get("GRADER_LOGIN_RATE_LIMIT", "10 per minute")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; on POST sign in and go on to ``next`` (a local path) or the list."""
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    email = request.form.get("email", "")
    if request.method == "POST":
        user = authenticate(email, request.form.get("password", ""))
        if user is not None:
            login_user(SessionUser(user))
            return redirect(safe_next(request.form.get("next")))
        flash("The email or the password is not right.", "error")
        return render_template("login.html", email=email, next=request.form.get("next", "")), 401
    return render_template("login.html", email="", next=request.args.get("next", ""))


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """On POST sign out and show the sign-in form; GET shows a button (a link cannot sign out)."""
    if request.method == "POST":
        if current_user.is_authenticated:
            end_sessions(current_user.user)  # a copy of the cookie is refused from now on
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("web.login"))
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return render_template("logout.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    """Show the form to change one's password; on POST change it, end every other session
    (``change_password``) and keep this browser signed in under the new session version."""
    if request.method == "POST":
        user = signed_in_user()
        try:
            change_password(user, request.form.get("current", ""), request.form.get("new", ""))
        except UserError as exc:
            flash(f"The password was not changed: {exc}.", "error")
            return render_template("password.html"), 400
        login_user(SessionUser(user))
        flash("Your password is changed; other devices are signed out.", "info")
        return redirect(url_for("web.exercises"))
    return render_template("password.html")
