"""submissions.updated_at and change_seq, and the change_counter row: changes in commit order

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:10:00

Upgrade numbers the existing submissions in the order of their last change as far as it is
known (graded_at, else created_at; ties by id), sets updated_at to that time, and starts the
counter at the last number. Downgrade drops the columns and the table.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_counter")),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False)
        )
    # The last change known of each row is its grading, else its creation; rows are numbered
    # in that order (ties by id), so updated_at never goes back as the number grows.
    op.execute("UPDATE submissions SET updated_at = coalesce(graded_at, created_at)")
    op.execute(
        "UPDATE submissions SET change_seq = ranked.number FROM (SELECT id, row_number() "
        "OVER (ORDER BY updated_at, id) AS number FROM submissions) AS ranked "
        "WHERE submissions.id = ranked.id"
    )
    op.execute(
        "INSERT INTO change_counter (id, value, at) SELECT 1, coalesce(max(change_seq), 0), "
        "coalesce(max(updated_at), CURRENT_TIMESTAMP) FROM submissions"
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index(batch_op.f("ix_submissions_change_seq"), ["change_seq"], unique=False)


def downgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_change_seq"))
        batch_op.drop_column("change_seq")
        batch_op.drop_column("updated_at")
    op.drop_table("change_counter")
