"""Helpers shared by the API tests."""

from __future__ import annotations

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
