"""Fixtures of the web tests: users of each role and a signed-in client."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.services.users import create_user

PASSWORD = "correct horse battery"
ANSWERS = {
    "answer-shape": "n×m",
    "answer-do_dh": "h×q",
    "answer-vector_or_matrix": ["dJ_db1", "dJ_do"],
}


@pytest.fixture()
def imported(app: Flask) -> Flask:
    """Return ``app`` with only ``jacobian-shape`` imported (what these pages are tested on;
    importing every exercise would cost each test a second)."""
    from grader.services.exercises import import_exercises
    from tests.conftest import EXERCISES

    with app.app_context():
        import_exercises([EXERCISES / "jacobian-shape.yaml"])
    return app


@pytest.fixture()
def users(imported: Flask) -> dict[str, int]:
    """Create a student, a second student and an instructor; return their ids by name."""
    with imported.app_context():
        return {
            "student": create_user("student@example.org", "student", PASSWORD).id,
            "other": create_user("other@example.org", "student", PASSWORD).id,
            "instructor": create_user("teacher@example.org", "instructor", PASSWORD).id,
        }


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the browser tests (they need playwright and Debian's chromium)."""


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    """Sign in through the form; return the response (a redirect on success)."""
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture()
def student(client: FlaskClient, users: dict[str, int]) -> FlaskClient:
    """Return the client signed in as the student."""
    assert sign_in(client, "student@example.org").status_code == 302
    return client


@pytest.fixture()
def instructor(client: FlaskClient, users: dict[str, int]) -> FlaskClient:
    """Return the client signed in as the instructor."""
    assert sign_in(client, "teacher@example.org").status_code == 302
    return client


def submission_id(response) -> int:
    """Return the id in a redirect to /submissions/<id>."""
    match = re.search(r"/submissions/(\d+)$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))
