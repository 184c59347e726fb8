"""Two-way sync (issue 14): what was decided for emails that matched no client (duplicate clients), and the last
state synced per client and item (echo suppression, ownership).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_matches",
        sa.Column("email", sa.String(254), primary_key=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("evidence", sa.String(200), nullable=False, server_default=""),
        sa.Column("event_id", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_client_matches_event_id", "client_matches", ["event_id"])
    op.create_table(
        "sync_states",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("freshbooks_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("xcart_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sync_states_xcart_id", "sync_states", ["xcart_id"])


def downgrade() -> None:
    op.drop_index("ix_sync_states_xcart_id", table_name="sync_states")
    op.drop_table("sync_states")
    op.drop_index("ix_client_matches_event_id", table_name="client_matches")
    op.drop_table("client_matches")
