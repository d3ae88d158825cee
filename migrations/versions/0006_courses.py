"""courses, enrolments and assignments; users known per identity provider; tokens per course

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:10:00

Upgrade keeps everything: it creates the course ``default``, gives it an assignment for every
exercise (in slug order, no dates, no limits, full feedback: what the service did before),
enrols every user (instructors and admins as instructors), files every submission under its
exercise's assignment with attempt numbers in the order they were made, binds every API token
to the default course (an ``admin`` token to every course) and gives the users and tokens the
issuer ``api:default``, so each LMS user stays the same person. Downgrade drops the new tables
and columns; it refuses when two users share an external id (possible only after the upgrade),
since the old unique index could not hold them.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DEFAULT_ISSUER = "api:default"
COURSE_ROLES = ("student", "ta", "instructor")
SCORE_POLICIES = ("best", "last", "best-with-penalty")
FEEDBACK_LEVELS = ("full", "hints", "score-only")


def one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=True),
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("slug", name=op.f("uq_courses_slug")),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(one_of("role", COURSE_ROLES), name=op.f("ck_enrolments_role")),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_enrolments_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_enrolments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("course_id", "user_id", name=op.f("uq_enrolments_course_id")),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolments_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolments_user_id"), ["user_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("free_attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("attempt_penalty", sa.Float(), server_default="0", nullable=False),
        sa.Column("score_policy", sa.String(length=20), server_default="best", nullable=False),
        sa.Column("feedback", sa.String(length=20), server_default="full", nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("late_penalty", sa.Float(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "attempt_penalty >= 0 AND attempt_penalty <= 1",
            name=op.f("ck_assignments_attempt_penalty"),
        ),
        sa.CheckConstraint(
            one_of("feedback", FEEDBACK_LEVELS), name=op.f("ck_assignments_feedback")
        ),
        sa.CheckConstraint("free_attempts >= 0", name=op.f("ck_assignments_free_attempts")),
        sa.CheckConstraint(
            "late_penalty >= 0 AND late_penalty <= 1", name=op.f("ck_assignments_late_penalty")
        ),
        sa.CheckConstraint(
            "max_attempts IS NULL OR max_attempts >= 1", name=op.f("ck_assignments_max_attempts")
        ),
        sa.CheckConstraint("points IS NULL OR points > 0", name=op.f("ck_assignments_points")),
        sa.CheckConstraint(
            one_of("score_policy", SCORE_POLICIES), name=op.f("ck_assignments_score_policy")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_assignments_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"], ["exercises.id"], name=op.f("fk_assignments_exercise_id_exercises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("course_id", "exercise_id", name=op.f("uq_assignments_course_id")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_course_id"), ["course_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assignments_exercise_id"), ["exercise_id"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer", sa.String(length=300), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_users_external_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_users_issuer"), ["issuer", "external_id"])

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("course_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "issuer", sa.String(length=300), server_default=DEFAULT_ISSUER, nullable=False
            )
        )
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_tokens_course_id"), ["course_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_course_id_courses"), "courses", ["course_id"], ["id"]
        )
    # The default only served the existing rows; new tokens name their issuer.
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("issuer", server_default=None)

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_submissions_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_assignment_id_assignments"),
            "assignments",
            ["assignment_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_submissions_assignment_id"), ["assignment_id", "user_id", "attempt"]
        )

    _move_into_default_course(op.get_bind())


def _move_into_default_course(bind):
    now = datetime.now(UTC)
    bind.execute(
        sa.text(
            "INSERT INTO courses (slug, title, time_zone, created_at) "
            "VALUES ('default', 'Default course', 'UTC', :now)"
        ),
        {"now": now},
    )
    course_id = bind.execute(sa.text("SELECT id FROM courses WHERE slug = 'default'")).scalar()
    exercises = bind.execute(sa.text("SELECT id FROM exercises ORDER BY slug")).scalars().all()
    for position, exercise_id in enumerate(exercises):
        bind.execute(
            sa.text(
                "INSERT INTO assignments (course_id, exercise_id, position, free_attempts, "
                "attempt_penalty, score_policy, feedback, late_penalty, created_at) VALUES "
                "(:c, :e, :p, 1, 0, 'best', 'full', 0, :now)"
            ),
            {"c": course_id, "e": exercise_id, "p": position, "now": now},
        )
    bind.execute(
        sa.text(
            "INSERT INTO enrolments (course_id, user_id, role, created_at) "
            "SELECT :c, id, CASE WHEN role = 'student' THEN 'student' ELSE 'instructor' END, :now "
            "FROM users"
        ),
        {"c": course_id, "now": now},
    )
    bind.execute(
        sa.text("UPDATE users SET issuer = :i WHERE external_id IS NOT NULL"),
        {"i": DEFAULT_ISSUER},
    )
    bind.execute(
        sa.text(
            "UPDATE api_tokens SET course_id = :c WHERE ' ' || scopes || ' ' NOT LIKE '% admin %'"
        ),
        {"c": course_id},
    )
    assignment_of = dict(
        bind.execute(
            sa.text("SELECT exercise_id, id FROM assignments WHERE course_id = :c"),
            {"c": course_id},
        ).all()
    )
    rows = bind.execute(
        sa.text(
            "SELECT s.id, s.user_id, v.exercise_id FROM submissions s "
            "JOIN exercise_versions v ON v.id = s.exercise_version_id "
            "ORDER BY s.created_at, s.id"
        )
    ).all()
    attempts = {}
    for submission_id, user_id, exercise_id in rows:
        key = (exercise_id, user_id)
        attempts[key] = attempts.get(key, 0) + 1
        bind.execute(
            sa.text("UPDATE submissions SET assignment_id = :a, attempt = :n WHERE id = :s"),
            {"a": assignment_of[exercise_id], "n": attempts[key], "s": submission_id},
        )


def downgrade():
    bind = op.get_bind()
    shared = bind.execute(
        sa.text(
            "SELECT external_id FROM users WHERE external_id IS NOT NULL "
            "GROUP BY external_id HAVING count(*) > 1"
        )
    ).first()
    if shared is not None:
        raise RuntimeError(
            f"cannot downgrade: several users have the external id {shared[0]!r} (from "
            "different identity providers); the old schema allows one"
        )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_submissions_assignment_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_submissions_assignment_id_assignments"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_submissions_assignment_id"))
        batch_op.drop_column("late")
        batch_op.drop_column("attempt")
        batch_op.drop_column("assignment_id")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_tokens_course_id_courses"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_tokens_course_id"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("issuer")
        batch_op.drop_column("course_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_issuer"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_users_external_id"), ["external_id"])
        batch_op.drop_column("issuer")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_exercise_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_course_id"))
    op.drop_table("assignments")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_user_id"))
        batch_op.drop_index(batch_op.f("ix_enrolments_course_id"))
    op.drop_table("enrolments")
    op.drop_table("courses")
