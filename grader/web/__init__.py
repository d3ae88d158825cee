"""Student and instructor pages (DESIGN section 9, web).

``bp`` is the blueprint; importing the view modules registers their routes on it.
"""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user
from markupsafe import Markup

from grader.services.policy import local_time
from grader.web import auth, courses, instructor, lti, preview, student  # noqa: F401  (the views)
from grader.web.blueprint import bp
from grader.web.graphsvg import graph_svg
from grader.web.markdown import render_inline, render_markdown
from grader.web.mathlabel import label_math


def markdown_filter(text: str) -> Markup:
    """Return Markdown with $math$ as HTML, each formula named for screen readers."""
    return label_math(render_markdown(text))


def markdown_inline_filter(text: str) -> Markup:
    """Return one line of Markdown with $math$ as HTML (no paragraph), formulas named."""
    return label_math(render_inline(text))


bp.add_app_template_global(graph_svg, "graph_svg")
bp.add_app_template_filter(markdown_filter, "markdown")
bp.add_app_template_filter(markdown_inline_filter, "markdown_inline")
# Stored UTC times as the course shows them: {{ time|local_time(course.time_zone) }}.
bp.add_app_template_filter(local_time, "local_time")


def page_url(page: int) -> str:
    """Return the current page's URL with its query string and ``page`` set."""
    args = {**request.args.to_dict(), **(request.view_args or {}), "page": page}
    return url_for(request.endpoint or "web.exercises", **args)


@bp.context_processor
def _template_helpers() -> dict[str, object]:
    return {
        "is_instructor": auth.is_instructor(current_user),
        "is_course_staff": auth.is_course_staff(current_user),
        "page_url": page_url,
    }


__all__ = ["bp"]
