"""postkorb: a thread per case, messages both ways with read and archive state

Revision ID: portal_0008
Revises: portal_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0008"
down_revision = "portal_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nachrichten",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(36), nullable=False, index=True),
        sa.Column("account_id", sa.String(36), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(36), index=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("requested", sa.JSON, nullable=False),
        sa.Column("deadline", sa.String(10), nullable=False, server_default=""),
        sa.Column("in_reply_to", sa.String(64), nullable=False, server_default=""),
        sa.Column("attachments", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default=""),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("notified", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reminded", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("nachrichten")
