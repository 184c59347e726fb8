"""The assistants' tables: the anomaly check's observations (the store's learned history), the catalogue's
prices, the findings about each order (anomalies and data quality) with what the rules did about them, and the
findings about customers and products.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False, index=True),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("value", sa.String(48), nullable=False),
        sa.Column("anomalous", sa.Boolean(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("order_id", "metric", "key", "subject", name="uq_observations_order_metric"),
    )
    op.create_index("ix_observations_metric_key", "observations", ["metric", "key", "id"])
    op.create_table(
        "catalogue_prices",
        sa.Column("sku", sa.String(255), primary_key=True),
        sa.Column("price", sa.String(48), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "order_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("score", sa.String(24), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("order_id", "source", "kind", "path", name="uq_order_findings"),
    )
    op.create_table(
        "entity_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_key", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("entity", "entity_key", "source", "kind", "path", name="uq_entity_findings"),
    )


def downgrade() -> None:
    op.drop_table("entity_findings")
    op.drop_table("order_findings")
    op.drop_table("catalogue_prices")
    op.drop_index("ix_observations_metric_key", table_name="observations")
    op.drop_table("observations")
