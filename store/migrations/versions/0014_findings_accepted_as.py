"""What a person accepting an order's finding saw of it (the value at its field): a later version of the order with
another value there holds the order again instead of riding on the acceptance.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_findings") as batch:
        batch.add_column(sa.Column("accepted_as", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_findings") as batch:
        batch.drop_column("accepted_as")
