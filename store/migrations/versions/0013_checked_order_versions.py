"""The order version the checks passed (workers/checks.py): a step books only a version the checks passed, so a
version that arrived after its chain's check, and that its own chain's check holds for a person, is never booked
by the earlier chain.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xcart_orders") as batch:
        batch.add_column(sa.Column("checked_version", sa.String(96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xcart_orders") as batch:
        batch.drop_column("checked_version")
