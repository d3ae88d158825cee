"""REST API v1: the course a request acts in, and the list of the courses a token reaches.

Every route exists twice (DESIGN section 9): ``/api/v1/<route>`` acts in the token's own
course (the course ``default`` for a token that reaches every course), and
``/api/v1/courses/<course>/<route>`` in the course named, which the token must reach. A course
out of reach is a 404 ``course-not-found``, the same as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, g, jsonify

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.openapi import api_spec, responses
from grader.api.paging import decode_text_cursor, encode_text_cursor, page_links
from grader.api.problems import ApiProblem
from grader.api.schemas import CoursePage, PageQuery
from grader.models import Course
from grader.services.access import NoAccess, token_course, token_courses
from grader.services.courses import default_course

COURSE_PREFIX = "/courses/<course>"


def course_not_found(slug: str) -> ApiProblem:
    """Return the 404 problem for a course that does not exist or is out of the token's reach
    (one answer for both, so nothing is revealed)."""
    return ApiProblem(404, "course-not-found", "Not Found", f"No course {slug!r}.")


def acting_course(course: str | None) -> Course:
    """Return the course the request acts in: ``course`` (a slug from the URL) if the token
    reaches it, else the token's own course (``default`` for an all-courses token). Raise the
    404 problem for a course out of reach."""
    token = g.api_token
    if course is not None:
        try:
            return token_course(token, course)
        except NoAccess:
            raise course_not_found(course) from None
    return token.course if token.course is not None else default_course()


def reading_course_ids(course: str | None) -> list[int] | None:
    """Return the ids of the courses whose submissions and scores the request may read: the
    course named in the URL, else the token's own course; None (every course) for an
    all-courses token on a route that names none."""
    if course is not None:
        return [acting_course(course).id]
    token = g.api_token
    return None if token.course_id is None else [token.course_id]


def add_course_rule(rule: str, view: Callable[..., Any], methods: list[str]) -> None:
    """Register ``view`` also under ``/courses/<course><rule>``, as the endpoint
    ``course_<view name>`` (its OpenAPI operation id)."""
    bp.add_url_rule(COURSE_PREFIX + rule, f"course_{view.__name__}", view, methods=methods)


@bp.get("/courses")
@require_scope("read:scores")
@api_spec.validate(query=PageQuery, resp=responses({200: CoursePage}, 400, 422), tags=["courses"])
def list_courses(query: PageQuery) -> Response:
    """List courses.

    The courses this token reaches (its own; every course for an all-courses admin token),
    by slug. Each one's routes are under /api/v1/courses/{slug}/. Scope: read:scores.
    """
    after = decode_text_cursor(query.cursor)
    courses = [c for c in token_courses(g.api_token) if after is None or c.slug > after]
    page, more = courses[: query.limit], len(courses) > query.limit
    items = [
        {"slug": c.slug, "title": c.title, "term": c.term, "time_zone": c.time_zone} for c in page
    ]
    next_cursor = encode_text_cursor(page[-1].slug) if more else None
    return jsonify(items=items, links=page_links(next_cursor))
