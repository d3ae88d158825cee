"""Helpers shared by the API tests."""

from __future__ import annotations

from sqlalchemy import event

from grader.extensions import db

ANSWERS = {"shape": "n×m", "do_dh": "h×q", "vector_or_matrix": ["dJ_db1", "dJ_do"]}
SUBMIT_URL = "/api/v1/exercises/jacobian-shape/submissions"
# The fields of a result object (DESIGN section 9).
RESULT_FIELDS = {
    "id",
    "exercise",
    "version",
    "user",
    "status",
    "score",
    "max_score",
    "seed",
    "parts",
    "created_at",
    "graded_at",
    "updated_at",
}


def auth(token: str) -> dict[str, str]:
    """Return the Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def is_problem(response, status: int, kind: str | None = None) -> bool:
    """Return True when ``response`` is an RFC 9457 problem with this status (and type)."""
    body = response.get_json(force=True, silent=True) or {}
    return (
        response.status_code == status
        and response.mimetype == "application/problem+json"
        and body.get("status") == status
        and isinstance(body.get("title"), str)
        and (kind is None or body.get("type", "").endswith("/" + kind))
    )


def listening(app, record, action):
    """Run ``action`` with ``record`` called before each statement the app's engine sends."""
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_of(app, action):
    """Run ``action`` and return the SQL statements it sent."""
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    listening(app, record, action)
    return seen
