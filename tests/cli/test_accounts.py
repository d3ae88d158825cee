"""``grader users``, ``grader tokens`` and ``grader demo``."""

from sqlalchemy import select

from grader.extensions import db
from grader.models import ApiToken, User
from grader.services.users import hash_token


def test_users_create(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Ann@Example.com",
            "--role",
            "instructor",
            "--password",
            "long-enough",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ann@example.com" and user.role == "instructor"
        assert user.password_hash and "long-enough" not in user.password_hash
    again = runner.invoke(
        args=[
            "users",
            "create",
            "ann@example.com",
            "--role",
            "student",
            "--password",
            "long-enough",
        ]
    )
    assert again.exit_code == 1 and "exists already" in again.output


def test_tokens_create_prints_token_last_and_stores_only_hash(app, runner):
    result = runner.invoke(args=["tokens", "create", "lms", "--scope", "submit"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("bpg_")
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hash_token(token) and row.scopes == "submit"
        assert token not in (row.token_hash + row.name + row.scopes)


def test_demo_is_idempotent(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "student@example.com" in result.output
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 2
