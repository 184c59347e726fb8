"""The invoice-number cut-over: what invoice numbers each FreshBooks account held when first read, so that a first
create searches only the order numbers that could clash with one of them.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_cut_overs",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("marks", sa.JSON(), nullable=False),
        sa.Column("invoices_read", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invoice_cut_overs")
