"""LMS users as plain values kept per app (issue 22: a warm API submission reads no user row;
the token is still read on every request, see tests/deploy/test_revocation.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from grader.extensions import db
from grader.services.users import Student, UserError, lms_student, lms_user

pytestmark = pytest.mark.db


def test_an_lms_student_is_created_once_then_kept_without_reading_its_row(app):
    with app.app_context():
        first = lms_student("lms-42")
        assert first == Student(lms_user("lms-42").id, "lms-42")
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert lms_student("lms-42") is first
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert statements == []
        with pytest.raises(UserError):
            lms_student("not an id!")
