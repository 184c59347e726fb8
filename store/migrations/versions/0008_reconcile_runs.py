"""Reconciliation reports: each run of `xcfb reconcile` or beat's daily reconciliation, kept for
`xcfb reconcile history` and /metrics; and the ECB's exchange rates as fetched.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.String(10), nullable=False),
        sa.Column("until", sa.String(10), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("mismatches", sa.JSON(), nullable=False),
    )
    op.create_index("ix_reconcile_runs_ran_at", "reconcile_runs", ["ran_at"])
    op.create_table(
        "exchange_rates",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("per_euro", sa.String(32), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
    op.drop_index("ix_reconcile_runs_ran_at", table_name="reconcile_runs")
    op.drop_table("reconcile_runs")
