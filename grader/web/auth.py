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
from grader.services.users import authenticate
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
        """Return the id kept in the session."""
        return str(self.user.id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)


@login_manager.user_loader
def load_user(user_id: str) -> SessionUser | None:
    """Return the signed-in user from the session's id, or None (then the visitor is anonymous)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return SessionUser(user) if user is not None else None


def signed_in_user() -> User:
    """Return the model of the signed-in user (call only behind ``login_required``)."""
    return current_user.user


def is_instructor(user: Any) -> bool:
    """True for a signed-in instructor or admin."""
    return bool(user.is_authenticated and user.role in INSTRUCTOR_ROLES)


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
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("web.login"))
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return render_template("logout.html")
