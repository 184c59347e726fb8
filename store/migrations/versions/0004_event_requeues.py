"""Events count their re-runs by the stuck-event sweep, which dead-letters an event after XCFB_MAX_REQUEUES.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:  # batch: SQLite drops a column by rebuilding the table
        batch.add_column(sa.Column("requeues", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("requeued_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("requeued_at")
        batch.drop_column("requeues")
