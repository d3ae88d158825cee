"""Migration 0007 (the LTI tables) on a populated database: its downgrade drops only the LTI
tables, and the users, courses and submissions that launches made stay."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from grader.extensions import db
from tests.lti.conftest import launch

LTI_TABLES = {
    "lti_keys",
    "lti_registrations",
    "lti_deployments",
    "lti_launch_states",
    "lti_contexts",
    "lti_grade_links",
    "lti_passbacks",
}


def count(table: str) -> int:
    with db.engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_the_lti_migration_goes_down_and_up_on_a_populated_database(app, client, platform):
    assert launch(client, platform).status_code == 302
    client.post("/exercises/jacobian-shape", data={"answer-shape": "n×m"})
    with app.app_context():
        assert count("lti_passbacks") == 1 and count("lti_grade_links") == 1
        before = {t: count(t) for t in ("users", "courses", "enrolments", "submissions")}
        db.session.remove()
        downgrade(revision="0006")
        db.engine.dispose()
        assert not LTI_TABLES & set(inspect(db.engine).get_table_names())
        assert {t: count(t) for t in before} == before
        upgrade()
        db.engine.dispose()
        assert LTI_TABLES <= set(inspect(db.engine).get_table_names())
        assert count("lti_registrations") == 0
