"""The pipeline's tables: events, X-Cart snapshots, bindings, dead letters, audit.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("entity_key", sa.String(128), nullable=False, index=True),
        sa.Column("order_id", sa.Integer(), index=True),
        sa.Column("order_number", sa.String(64), index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("last_error", sa.Text()),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "xcart_orders",
        sa.Column("order_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("order_number", sa.String(64), nullable=False, index=True),
        sa.Column("update_date", TZ, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "xcart_payments",
        sa.Column("transaction_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.Integer(), nullable=False, index=True),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "bindings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("freshbooks_id", sa.Integer()),
        sa.Column("version", sa.String(64)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("kind", "external_id", name="uq_bindings_kind_external"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("event_id", sa.String(200), index=True),
        sa.Column("order_id", sa.Integer(), index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object", sa.String(16), nullable=False),
        sa.Column("freshbooks_id", sa.Integer()),
        sa.Column("detail", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("audit", "dead_letters", "bindings", "xcart_payments", "xcart_orders", "events"):
        op.drop_table(table)
