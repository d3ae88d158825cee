"""submission_parts (a row per part result), CHECK constraints on role, status and source,
no score while a part is pending

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:55:00

Upgrade backfills ``submission_parts`` from every submission's ``parts`` JSON and clears the
score of the parts, and of the submissions, that are still queued or waiting for review (a
score of 0 there was a placeholder, not a grade). Downgrade drops the table and the checks and
puts the placeholder zeros back.
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
PENDING = ("queued", "needs_review")
PART_STATUSES = ("graded", "queued", "needs_review", "error")
BATCH = 500

submissions = sa.table(
    "submissions",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("score", sa.Float),
    sa.column("parts", JSONType),
)
submission_parts = sa.table(
    "submission_parts",
    sa.column("submission_id", sa.Integer),
    sa.column("part_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("status", sa.String),
    sa.column("score", sa.Float),
    sa.column("max_score", sa.Float),
    sa.column("correct", sa.Boolean),
    sa.column("diagnosis", sa.String),
    sa.column("feedback", sa.Text),
    sa.column("details", JSONType),
)


def one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _parts(value):
    if isinstance(value, str):  # a JSON column read without its type on some drivers
        value = json.loads(value)
    return list(value or [])


def upgrade():
    op.create_table(
        "submission_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("diagnosis", sa.String(length=200), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.CheckConstraint(one_of("status", PART_STATUSES), name=op.f("ck_submission_parts_status")),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_parts_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_parts")),
        sa.UniqueConstraint(
            "submission_id", "part_id", name=op.f("uq_submission_parts_submission_id")
        ),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(submissions.c.id, submissions.c.status, submissions.c.parts)
            .where(submissions.c.id > last)
            .order_by(submissions.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        inserts = []
        for submission_id, status, raw in rows:
            parts = [
                dict(part, score=None) if part.get("status") in PENDING else part
                for part in _parts(raw)
            ]
            for position, part in enumerate(parts):
                inserts.append(
                    {
                        "submission_id": submission_id,
                        "part_id": str(part.get("id")),
                        "position": position,
                        "status": part.get("status") or "graded",
                        "score": part.get("score"),
                        "max_score": float(part.get("max_score") or 0),
                        "correct": bool(part.get("correct")),
                        "diagnosis": str(part.get("diagnosis") or "")[:200],
                        "feedback": str(part.get("feedback") or ""),
                        "details": part.get("details") or {},
                    }
                )
            if status in PENDING:
                connection.execute(
                    submissions.update()
                    .where(submissions.c.id == submission_id)
                    .values(score=None, parts=parts)
                )
        if inserts:
            connection.execute(submission_parts.insert(), inserts)
        last = rows[-1][0]

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_users_role"), one_of("role", ("student", "instructor", "admin"))
        )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_submissions_status"),
            one_of("status", ("queued", "graded", "error", "needs_review")),
        )
        batch_op.create_check_constraint(
            op.f("ck_submissions_source"), one_of("source", ("web", "api", "cli"))
        )


def downgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_submissions_source"), type_="check")
        batch_op.drop_constraint(op.f("ck_submissions_status"), type_="check")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(submissions.c.id, submissions.c.parts).where(submissions.c.status.in_(PENDING))
    ).all()
    for submission_id, raw in rows:
        parts = [
            dict(part, score=0.0) if part.get("score") is None else part for part in _parts(raw)
        ]
        connection.execute(
            submissions.update()
            .where(submissions.c.id == submission_id)
            .values(score=round(sum(float(p.get("score") or 0) for p in parts), 6), parts=parts)
        )
    op.drop_table("submission_parts")
