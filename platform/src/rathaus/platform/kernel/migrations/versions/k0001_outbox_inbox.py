"""kernel tables: transactional outbox and processed events (inbox)

Revision ID: k0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rathaus_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255)),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_at", sa.Float()),
        sa.Column("leased_by", sa.String(128)),
        sa.Column("lease_until", sa.Float()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("rathaus_outbox_pending", "rathaus_outbox", ["status", "id"])
    op.create_index("rathaus_outbox_key", "rathaus_outbox", ["key", "id"])
    op.create_table(
        "rathaus_processed",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rathaus_processed")
    op.drop_index("rathaus_outbox_key", "rathaus_outbox")
    op.drop_index("rathaus_outbox_pending", "rathaus_outbox")
    op.drop_table("rathaus_outbox")
