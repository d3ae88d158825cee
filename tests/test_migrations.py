"""Migrations build the whole schema and take it down again, on the configured backend."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from grader.extensions import db

TABLES = {"users", "exercises", "exercise_versions", "submissions", "api_tokens"}


def test_upgrade_creates_every_table(app):
    with app.app_context():
        names = set(inspect(db.engine).get_table_names())
    assert TABLES <= names
    assert "alembic_version" in names


def test_downgrade_to_base_and_up_again(app):
    with app.app_context():
        downgrade(revision="base")
        db.engine.dispose()
        assert not TABLES & set(inspect(db.engine).get_table_names())
        upgrade()
        db.engine.dispose()
        assert TABLES <= set(inspect(db.engine).get_table_names())


def test_models_match_migrations(app):
    """The models and the migrated schema agree: autogenerate finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, db.metadata)
    assert diff == []
