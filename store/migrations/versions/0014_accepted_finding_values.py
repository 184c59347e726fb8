"""What a finding judged (Finding.judged: an anomaly's field value, a validation finding's message): a person's
acceptance covers that value only, and a later version of the order with another value under the same field is
judged again instead of booked under the earlier acceptance. Rows kept before have none: their message stands for
it (store/assistants._judged), so an accepted one whose finding reads otherwise at its next check is judged again.

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
        batch.add_column(sa.Column("judged", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_findings") as batch:
        batch.drop_column("judged")
