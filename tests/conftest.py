"""Shared fixtures: an app on a fresh, migrated database per test (SQLite, or PostgreSQL when
``TEST_DATABASE_URL`` names one), a client, a CLI runner and API tokens.

The schema is built by the Alembic migrations, never by ``create_all``. On PostgreSQL the
migrations run once into a template database; each test gets a copy of it (fast) and drops it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade

from grader import create_app
from grader.config import TestConfig
from grader.extensions import db

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the database ``db``, so a backend run can select them."""
    for item in items:
        if {"app", "client", "runner", "database_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def _pg_admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _pg_url_with_db(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """Create and migrate a template database on the PostgreSQL test server (if configured)."""
    if not PG_URL:
        yield None
        return
    # One template per test run (its process id): two runs on one server do not drop each
    # other's template.
    name = f"{PG_URL.rpartition('/')[2]}_tpl_{os.getpid()}"
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url_with_db(PG_URL, name)
    app = _make_app(url, Path(os.environ.get("TMPDIR", "/tmp")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield name
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make_app(url: str, instance: Path) -> Flask:
    config = TestConfig(url, instance)
    config.GRADER_EXERCISES_DIR = EXERCISES
    return create_app(config)


@pytest.fixture()
def database_url(tmp_path: Path, pg_template: str | None) -> Iterator[str]:
    """Return the URL of an empty database of this test's own (no schema yet on SQLite)."""
    if pg_template is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    name = f"{PG_URL.rpartition('/')[2]}_{os.getpid()}_{next(_counter)}"
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url_with_db(PG_URL, name)
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Return an app on a fresh, migrated database (migrations run here on SQLite)."""
    app = _make_app(database_url, tmp_path / "instance")
    with app.app_context():
        if database_url.startswith("sqlite"):
            upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """Return a test client of ``app``."""
    return app.test_client()


@pytest.fixture()
def runner(app: Flask) -> FlaskCliRunner:
    """Return a CLI runner of ``app``."""
    return app.test_cli_runner()


@pytest.fixture()
def imported(app: Flask) -> Flask:
    """Return ``app`` with the repository's exercises imported."""
    from grader.services.exercises import import_exercises

    with app.app_context():
        import_exercises([EXERCISES])
    return app


@pytest.fixture()
def make_token(app: Flask):
    """Return a function creating an API token with the given scopes; it returns the secret."""
    from grader.services.users import create_token

    def make(*scopes: str) -> str:
        with app.app_context():
            return create_token("test", scopes or ("submit", "read:scores"))[1]

    return make


@pytest.fixture()
def exercise_dir(tmp_path: Path) -> Path:
    """Return a scratch folder holding a copy of the repository's exercises."""
    target = tmp_path / "exercises"
    shutil.copytree(EXERCISES, target)
    return target
