"""REST API v1: submissions in the order of their last change, for an LMS that syncs."""

from __future__ import annotations

from flask import Response, g, jsonify

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.courses import add_course_rule, reading_course_ids
from grader.api.openapi import api_spec, responses
from grader.api.paging import bad_cursor, change_links
from grader.api.problems import ApiProblem
from grader.api.schemas import SubmissionPage, SubmissionsQuery
from grader.models import FeedbackLevel
from grader.services.access import users_in_reach
from grader.services.changes import (
    ChangeFilter,
    InvalidChangeCursor,
    changed_submissions,
    decode_change_cursor,
)
from grader.services.grading import result_object


@bp.get("/submissions")
@require_scope("read:scores")
@api_spec.validate(
    query=SubmissionsQuery,
    resp=responses({200: SubmissionPage}, 400, 404, 422),
    tags=["submissions"],
)
def list_submissions(query: SubmissionsQuery, course: str | None = None) -> Response:
    """List submissions by their last change.

    Result objects, oldest change first: every submission whose grade or status changed at
    or after updated_since (all of them without it), of one exercise or one LMS user. Follow
    links.next while it is set, then keep links.resume and call it on the next sync: it lists
    what changed after this page, skipping nothing and repeating a submission only when it
    changed again (graded by the queue, reviewed, regraded, failed). Only submissions made
    in the course; feedback at each assignment's level (full for an admin token).
    Scope: read:scores.
    """
    try:
        after = decode_change_cursor(query.cursor) if query.cursor else 0
    except InvalidChangeCursor:
        raise bad_cursor() from None
    reach = reading_course_ids(course)
    if query.user is not None and not users_in_reach(query.user, reach):
        raise ApiProblem(404, "user-not-found", "Not Found", f"No user {query.user!r}.")
    filters = ChangeFilter(
        query.updated_since, query.exercise, query.user, None if reach is None else tuple(reach)
    )
    page = changed_submissions(filters, after, query.limit)
    links = change_links(page.next_after, page.resume_after)
    level = FeedbackLevel.FULL if "admin" in g.api_token.scope_set else None
    return jsonify(items=[result_object(s, level) for s in page.rows], links=links)


add_course_rule("/submissions", list_submissions, ["GET"])
