"""REST API v1: submissions in the order of their last change, for an LMS that syncs."""

from __future__ import annotations

from flask import Response, jsonify

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.openapi import api_spec, responses
from grader.api.paging import bad_cursor, change_links
from grader.api.schemas import SubmissionPage, SubmissionsQuery
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
    resp=responses({200: SubmissionPage}, 400, 422),
    tags=["submissions"],
)
def list_submissions(query: SubmissionsQuery) -> Response:
    """List submissions by their last change.

    Result objects, oldest change first: every submission whose grade or status changed at
    or after updated_since (all of them without it), of one exercise or one LMS user. Follow
    links.next while it is set, then keep links.resume and call it on the next sync: it lists
    what changed after this page, skipping nothing and repeating a submission only when it
    changed again (graded by the queue, reviewed, regraded, failed). Scope: read:scores.
    """
    try:
        after = decode_change_cursor(query.cursor) if query.cursor else 0
    except InvalidChangeCursor:
        raise bad_cursor() from None
    filters = ChangeFilter(query.updated_since, query.exercise, query.user)
    page = changed_submissions(filters, after, query.limit)
    links = change_links(page.next_after, page.resume_after)
    return jsonify(items=[result_object(s) for s in page.rows], links=links)
