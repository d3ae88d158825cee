"""REST API v1: API tokens, created, listed and revoked by an admin token."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from sqlalchemy import select

from grader.api.auth import require_scope
from grader.api.blueprint import bp
from grader.api.openapi import api_spec, responses
from grader.api.paging import bad_cursor, decode_text_cursor, encode_text_cursor, page_links
from grader.api.problems import ApiProblem
from grader.api.routes import MAX_ID
from grader.api.schemas import PageQuery, TokenCreate, TokenCreated, TokenInfo, TokenPage
from grader.extensions import db
from grader.models import ApiToken
from grader.services.scores import iso
from grader.services.users import UserError, create_token, revoke_token


def token_info(row: ApiToken) -> dict[str, Any]:
    """Return what the API shows of a token: never its secret or its hash."""
    return {
        "id": row.id,
        "name": row.name,
        "scopes": sorted(row.scope_set),
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
    }


@bp.post("/tokens")
@require_scope("admin")
@api_spec.validate(
    json=TokenCreate, resp=responses({201: TokenCreated}, 400, 413, 415, 422), tags=["tokens"]
)
def create_api_token(json: TokenCreate) -> Response:
    """Create a token.

    Returns the token's secret in "token", this once: only its SHA-256 is stored. Default
    scopes: submit, read:scores. Scope: admin.
    """
    try:
        row, secret = create_token(json.name, json.scopes, g.api_token.course)
    except UserError as exc:
        raise ApiProblem(422, "invalid-token-request", "Unprocessable Content", str(exc)) from None
    response = jsonify(token_info(row) | {"token": secret})
    response.status_code = 201
    return response


@bp.get("/tokens")
@require_scope("admin")
@api_spec.validate(query=PageQuery, resp=responses({200: TokenPage}, 400, 422), tags=["tokens"])
def list_api_tokens(query: PageQuery) -> Response:
    """List tokens.

    Every token, newest first, with its scopes, last use and revocation time; never the
    secret. Scope: admin.
    """
    cursor = decode_text_cursor(query.cursor)
    statement = select(ApiToken).order_by(ApiToken.id.desc()).limit(query.limit + 1)
    if cursor is not None:
        if not cursor.isdigit():
            raise bad_cursor()
        statement = statement.where(ApiToken.id < int(cursor))
    rows = list(db.session.scalars(statement))
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = encode_text_cursor(str(page[-1].id)) if more else None
    return jsonify(items=[token_info(r) for r in page], links=page_links(next_cursor))


@bp.delete("/tokens/<int:token_id>")
@require_scope("admin")
@api_spec.validate(resp=responses({200: TokenInfo}, 404), tags=["tokens"])
def revoke_api_token(token_id: int) -> Response:
    """Revoke a token.

    The token stops working at once; revoking it again changes nothing. Returns the token
    with its revocation time. Scope: admin.
    """
    if token_id > MAX_ID:
        raise ApiProblem(404, "token-not-found", "Not Found", f"No token {token_id}.")
    try:
        row = revoke_token(token_id)
    except UserError:
        raise ApiProblem(404, "token-not-found", "Not Found", f"No token {token_id}.") from None
    return jsonify(token_info(row))
