"""Web pages: thin views over the services."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


@bp.get("/")
def index() -> ResponseReturnValue:
    """Redirect to the exercise list."""
    return redirect(url_for("web.exercises"))


@bp.get("/exercises")
def exercises() -> ResponseReturnValue:
    """List the exercises (the full page comes with the web pages)."""
    from flask import jsonify

    from grader.services.exercises import list_current_versions

    return jsonify([v.exercise.slug for v in list_current_versions()])
