"""REST API v1: the gradebook, best score per user and exercise, as JSON pages or CSV."""

from __future__ import annotations

from flask import Response, jsonify, request

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.courses import add_course_rule, reading_course_ids
from grader.api.openapi import api_spec, responses
from grader.api.paging import bad_cursor, page_links
from grader.api.problems import ApiProblem
from grader.api.schemas import ScorePage, ScoresQuery
from grader.services.access import users_in_reach
from grader.services.scores import (
    InvalidCursor,
    ScoreFilter,
    best_scores,
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
    until). JSON pages follow links.next; with Accept: text/csv or format=csv the whole
    filtered gradebook comes as CSV with the columns user_id, exercise, best_score,
    max_score, last_submission_at. Only submissions made in the course count; a user not
    enrolled there is a 404 user-not-found. Scope: read:scores.
    """
    reach = reading_course_ids(course)
    if query.user is not None and not users_in_reach(query.user, reach):
        raise ApiProblem(404, "user-not-found", "Not Found", f"No user {query.user!r}.")
    filters = ScoreFilter(
        query.exercise,
        query.user,
        query.since,
        query.until,
        None if reach is None else tuple(reach),
    )
    if _wants_csv(query):
        response = Response(scores_csv(iter_best_scores(filters)), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="scores.csv"'
        response.headers["Vary"] = "Accept"
        return response
    try:
        after = decode_cursor(query.cursor) if query.cursor else None
    except InvalidCursor:
        raise bad_cursor() from None
    rows = best_scores(filters, limit=query.limit + 1, after=after)
    page, more = rows[: query.limit], len(rows) > query.limit
    body = ScorePage.model_validate(
        {
            "items": [
                {
                    "user": r.user,
                    "exercise": r.exercise,
                    "best_score": r.best_score,
                    "max_score": r.max_score,
                    "submissions": r.submissions,
                    "pending_review": r.pending_review,
                    "last_submission_at": iso(r.last_submission_at),
                }
                for r in page
            ],
            "links": page_links(page[-1].cursor if more else None),
        }
    )
    response = jsonify(body.model_dump(mode="json"))
    response.headers["Vary"] = "Accept"
    return response


add_course_rule("/scores", list_scores, ["GET"])
