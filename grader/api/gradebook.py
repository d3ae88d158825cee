"""REST API v1: the gradebook, best score per user and exercise, as JSON pages or CSV."""

from __future__ import annotations

from flask import Response, jsonify, request

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.courses import add_course_rule, reading_course_ids
from grader.api.openapi import api_spec, responses
from grader.api.paging import bad_cursor, change_links, page_links
from grader.api.problems import ApiProblem
from grader.api.schemas import ScoreExportQuery, ScorePage, ScoresQuery
from grader.services.access import users_in_reach
from grader.services.changes import InvalidChangeCursor, decode_change_cursor
from grader.services.scores import (
    BestScore,
    InvalidCursor,
    ScoreFilter,
    best_scores,
    changed_best_scores,
    decode_cursor,
    iso,
    iter_best_scores,
    scores_csv,
)


def _wants_csv(query: ScoresQuery) -> bool:
    if query.format is not None:
        return query.format == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return (
        best == "text/csv"
        and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]
    )


# The 200 response (JSON page or CSV) is described in grader.api.openapi.document: spectree
# would check a CSV body against the JSON model, so the view validates its JSON itself.
@bp.get("/scores")
@require_scope("read:scores")
@api_spec.validate(query=ScoresQuery, resp=responses({}, 400, 404, 422), tags=["scores"])
def list_scores(query: ScoresQuery, course: str | None = None) -> Response:
    """Read the gradebook.

    The best score per user and exercise, ordered by user and exercise, filtered by exercise
    slug, LMS user id and the date of the submissions that count (since <= created_at <
    until). With updated_since, only the rows changed since then, in the order of their
    changes: keep links.resume of the last page and call it on the next sync (no row is
    skipped, none repeated unless it changed again). JSON pages follow links.next; with
    Accept: text/csv or format=csv the whole filtered gradebook comes as CSV with the columns
    user_id, exercise, best_score, max_score, last_submission_at. Only submissions made in the
    course count; a user not enrolled there is a 404 user-not-found. Scope: read:scores.
    """
    filters = _filters(query, course)
    if _wants_csv(query):
        response = Response(scores_csv(iter_best_scores(filters)), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="scores.csv"'
        response.headers["Vary"] = "Accept"
        return response
    if query.updated_since is not None:
        try:
            after = decode_change_cursor(query.cursor) if query.cursor else 0
        except InvalidChangeCursor:
            raise bad_cursor() from None
        changed = changed_best_scores(filters, after, query.limit)
        page, links = changed.rows, change_links(changed.next_after, changed.resume_after)
    else:
        try:
            start = decode_cursor(query.cursor) if query.cursor else None
        except InvalidCursor:
            raise bad_cursor() from None
        rows = best_scores(filters, limit=query.limit + 1, after=start)
        page, more = rows[: query.limit], len(rows) > query.limit
        links = page_links(page[-1].cursor if more else None) | {"resume": None}
    body = ScorePage.model_validate({"items": [_row(r) for r in page], "links": links})
    response = jsonify(body.model_dump(mode="json"))
    response.headers["Vary"] = "Accept"
    return response


# The 200 response (CSV) is described in grader.api.openapi.document.
@bp.get("/scores.csv")
@require_scope("read:scores")
@api_spec.validate(query=ScoreExportQuery, resp=responses({}, 400, 404, 422), tags=["scores"])
def export_scores(query: ScoreExportQuery, course: str | None = None) -> Response:
    """Export the gradebook as CSV.

    The whole filtered gradebook (no pages), text/csv in UTF-8 with the header user_id,
    exercise, best_score, max_score, last_submission_at; the same filters as list_scores. A
    user id that a spreadsheet would run as a formula is prefixed with '. Only submissions
    made in the course count. Scope: read:scores.
    """
    return _csv(_filters(query, course))


def _filters(query: ScoresQuery | ScoreExportQuery, course: str | None) -> ScoreFilter:
    """Return the filters of a scores request, limited to the courses the token reads in
    (404 user-not-found for a user not in reach: another course's users are not revealed)."""
    reach = reading_course_ids(course)
    if query.user is not None and not users_in_reach(query.user, reach):
        raise ApiProblem(404, "user-not-found", "Not Found", f"No user {query.user!r}.")
    return ScoreFilter(
        query.exercise,
        query.user,
        query.since,
        query.until,
        query.updated_since,
        None if reach is None else tuple(reach),
    )


def _csv(filters: ScoreFilter) -> Response:
    response = Response(scores_csv(iter_best_scores(filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="scores.csv"'
    return response


def _row(row: BestScore) -> dict[str, object]:
    return {
        "user": row.user,
        "exercise": row.exercise,
        "best_score": row.best_score,
        "max_score": row.max_score,
        "submissions": row.submissions,
        "pending_review": row.pending_review,
        "last_submission_at": iso(row.last_submission_at),
        "updated_at": iso(row.updated_at),
    }


add_course_rule("/scores", list_scores, ["GET"])
add_course_rule("/scores.csv", export_scores, ["GET"])
