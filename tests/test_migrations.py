"""Migrations build the whole schema and take it down again, on the configured backend."""

import json

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from grader.extensions import db

TABLES = {
    "users",
    "exercises",
    "exercise_versions",
    "submissions",
    "api_tokens",
    "submission_grades",
    "submission_parts",
    "change_counter",
    "webhooks",
    "webhook_events",
}


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


def _populate(connection):
    """Write, as revision 0002 knew them, a user, an exercise and three submissions: graded,
    queued (a placeholder 0 for its queued part) and waiting for review."""
    from sqlalchemy import text

    now = "2026-01-01 00:00:00+00:00"
    connection.execute(
        text(
            "INSERT INTO users (id, external_id, role, created_at) VALUES (1, 'u', 'student', :t)"
        ),
        {"t": now},
    )
    connection.execute(
        text(
            "INSERT INTO exercises (id, slug, title, created_at, updated_at) "
            "VALUES (1, 'e', 'E', :t, :t)"
        ),
        {"t": now},
    )
    connection.execute(
        text(
            "INSERT INTO exercise_versions (id, exercise_id, number, spec, source_yaml, "
            "content_hash, created_at) VALUES (1, 1, 1, '{}', '', 'h', :t)"
        ),
        {"t": now},
    )

    def part(pid, status, score, correct=False, diagnosis="wrong"):
        return {
            "id": pid,
            "score": score,
            "max_score": 1.0,
            "correct": correct,
            "feedback": "f",
            "status": status,
            "diagnosis": diagnosis,
            "details": {"k": [1, 2]},
        }

    rows = [
        (1, "graded", 1.0, [part("a", "graded", 1.0, True, "correct"), part("b", "graded", 0.0)]),
        (2, "queued", 1.0, [part("a", "graded", 1.0, True, "correct"), part("c", "queued", 0.0)]),
        (3, "needs_review", 0.0, [part("t", "needs_review", 0.0, diagnosis="")]),
    ]
    for sid, status, score, parts in rows:
        connection.execute(
            text(
                "INSERT INTO submissions (id, user_id, exercise_version_id, answers, seed, status, "
                "score, max_score, parts, source, created_at) VALUES "
                "(:id, 1, 1, '{}', 1, :status, :score, 2, :parts, 'api', :t)"
            ),
            {"id": sid, "status": status, "score": score, "parts": json.dumps(parts), "t": now},
        )


def test_submission_parts_are_backfilled_and_the_downgrade_restores(app):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        downgrade(revision="0002")
        with db.engine.begin() as connection:
            _populate(connection)
        upgrade()
        with db.engine.connect() as connection:
            parts = connection.execute(
                text(
                    "SELECT submission_id, part_id, position, status, score, correct, details "
                    "FROM submission_parts ORDER BY submission_id, position"
                )
            ).all()
            scores = dict(connection.execute(text("SELECT id, score FROM submissions")).all())
        assert [(p[0], p[1], p[2], p[3], p[4], bool(p[5])) for p in parts] == [
            (1, "a", 0, "graded", 1.0, True),
            (1, "b", 1, "graded", 0.0, False),
            (2, "a", 0, "graded", 1.0, True),
            (2, "c", 1, "queued", None, False),
            (3, "t", 0, "needs_review", None, False),
        ]
        details = parts[0][6]
        assert (json.loads(details) if isinstance(details, str) else details) == {"k": [1, 2]}
        assert scores == {1: 1.0, 2: None, 3: None}
        for statement in (
            "UPDATE users SET role = 'root'",
            "UPDATE submissions SET status = 'done'",
            "UPDATE submissions SET source = 'fax'",
            "UPDATE submission_parts SET status = 'invalid'",
        ):
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(text(statement))
        downgrade(revision="0002")
        db.engine.dispose()
        assert "submission_parts" not in inspect(db.engine).get_table_names()
        with db.engine.begin() as connection:
            scores = dict(connection.execute(text("SELECT id, score FROM submissions")).all())
            connection.execute(text("UPDATE users SET role = 'root'"))  # no check any more
            connection.execute(text("UPDATE users SET role = 'student'"))
        assert scores == {1: 1.0, 2: 1.0, 3: 0.0}
        upgrade()
        db.engine.dispose()
        with db.engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM submission_parts")).scalar()
        assert count == 5


def test_courses_migration_files_everything_under_the_default_course(app):
    """0006 keeps every row: a default course with an assignment per exercise, every user
    enrolled, every submission under its assignment with attempts in order, tokens bound."""
    from sqlalchemy import text

    with app.app_context():
        downgrade(revision="0005")
        with db.engine.begin() as connection:
            _populate(connection)
            connection.execute(
                text(
                    "INSERT INTO users (id, email, role, created_at) "
                    "VALUES (2, 'i@example.com', 'instructor', '2026-01-01 00:00:00+00:00')"
                )
            )
            for tid, scopes in ((1, "read:scores submit"), (2, "admin")):
                connection.execute(
                    text(
                        "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) "
                        "VALUES (:id, 't', :h, :s, '2026-01-01 00:00:00+00:00')"
                    ),
                    {"id": tid, "h": f"{tid:064d}", "s": scopes},
                )
        upgrade()
        with db.engine.connect() as connection:
            course = connection.execute(text("SELECT id, slug FROM courses")).one()
            assert course.slug == "default"
            assignments = connection.execute(
                text("SELECT id, course_id, exercise_id FROM assignments")
            ).all()
            assert [(a.course_id, a.exercise_id) for a in assignments] == [(course.id, 1)]
            enrolments = connection.execute(
                text("SELECT user_id, role FROM enrolments ORDER BY user_id")
            ).all()
            assert [tuple(e) for e in enrolments] == [(1, "student"), (2, "instructor")]
            submissions = connection.execute(
                text("SELECT id, assignment_id, attempt, late FROM submissions ORDER BY id")
            ).all()
            assert [(s.assignment_id, s.attempt, bool(s.late)) for s in submissions] == [
                (assignments[0].id, 1, False),
                (assignments[0].id, 2, False),
                (assignments[0].id, 3, False),
            ]
            tokens = connection.execute(
                text("SELECT id, course_id, issuer FROM api_tokens ORDER BY id")
            ).all()
            assert [tuple(t)[1:] for t in tokens] == [
                (course.id, "api:default"),
                (None, "api:default"),
            ]
            users = dict(connection.execute(text("SELECT id, issuer FROM users")).all())
            assert users == {1: "api:default", 2: None}
        # the same external id from another identity provider is another user
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, issuer, external_id, role, created_at) "
                    "VALUES (3, 'https://lms.example', 'u', 'student', "
                    "'2026-01-01 00:00:00+00:00')"
                )
            )
        with pytest.raises(SystemExit):  # Flask-Migrate logs the RuntimeError and exits
            downgrade(revision="0005")
        with db.engine.connect() as connection:  # the failed downgrade changed nothing
            assert connection.execute(text("SELECT count(*) FROM courses")).scalar() == 1
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = 3"))
        downgrade(revision="0005")
        db.engine.dispose()
        names = set(inspect(db.engine).get_table_names())
        assert not {"courses", "enrolments", "assignments"} & names
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM submissions")).scalar() == 3
        upgrade()


def test_changes_are_numbered_in_order_and_the_downgrade_restores(app):
    """0008 numbers existing submissions by their last known change (graded_at, else
    created_at; ties by id), starts the counter there, and goes down (to 0007, the one before
    it) without losing a row."""
    from sqlalchemy import text

    from grader.models import Submission
    from grader.services.changes import committed_horizon, stamp_change

    with app.app_context():
        downgrade(revision="0005")
        with db.engine.begin() as connection:
            _populate(connection)
            # 1: graded late; 2: queued (never graded); 3: graded early
            for sid, graded in ((1, "2026-03-01 00:00:00+00:00"), (3, "2026-02-01 00:00:00+00:00")):
                connection.execute(
                    text("UPDATE submissions SET graded_at = :g WHERE id = :id"),
                    {"g": graded, "id": sid},
                )
        upgrade()
        db.engine.dispose()
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, change_seq FROM submissions ORDER BY change_seq")
            ).all()
            counter = connection.execute(text("SELECT id, value FROM change_counter")).all()
        assert [tuple(r) for r in rows] == [(2, 1), (3, 2), (1, 3)]
        assert [tuple(c) for c in counter] == [(1, 3)]
        submission = db.session.get(Submission, 2)
        stamp_change(submission)
        db.session.commit()
        assert submission.change_seq == 4 and committed_horizon() == 4
        assert submission.updated_at.year == 2026 and submission.updated_at.tzinfo is not None
        db.session.remove()
        downgrade(revision="0007")
        db.engine.dispose()
        assert "change_counter" not in inspect(db.engine).get_table_names()
        columns = {c["name"] for c in inspect(db.engine).get_columns("submissions")}
        assert not {"updated_at", "change_seq"} & columns
        with db.engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM submissions")).scalar()
        assert count == 3
        upgrade()


def test_webhooks_migration_keeps_every_row_and_the_downgrade_drops_only_hooks(app):
    """0009 adds the hooks and their outbox beside existing data; hooks and events written
    then go with the downgrade (to 0008), the submissions stay."""
    from sqlalchemy import text

    from grader.models import Webhook, WebhookEvent, utcnow

    with app.app_context():
        downgrade(revision="0005")
        with db.engine.begin() as connection:
            _populate(connection)
        upgrade()
        db.engine.dispose()
        now = utcnow()
        hook = Webhook(course_id=1, url="https://lms.example.edu/h", secret="s", events=["x"])
        db.session.add(hook)
        db.session.flush()
        db.session.add(
            WebhookEvent(
                id="00000000-0000-4000-8000-000000000001",
                webhook_id=hook.id,
                submission_id=1,
                change_seq=1,
                event_type="submission.graded",
                payload="{}",
                next_attempt_at=now,
                give_up_at=now,
            )
        )
        db.session.commit()
        db.session.remove()
        downgrade(revision="0008")
        db.engine.dispose()
        names = set(inspect(db.engine).get_table_names())
        assert not {"webhooks", "webhook_events"} & names
        with db.engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM submissions")).scalar()
        assert count == 3
        upgrade()
