"""Order snapshots keep a version key: update_date, then when the event was emitted, then the content,
because X-Cart does not always move update_date on an edit.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xcart_orders") as batch:
        batch.add_column(sa.Column("version", sa.String(96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xcart_orders") as batch:
        batch.drop_column("version")
