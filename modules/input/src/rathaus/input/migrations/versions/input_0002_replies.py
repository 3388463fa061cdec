"""replies from the Postkorb: the reply itself, and which documents belong to it

Revision ID: input_0002
Revises: input_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "input_0002"
down_revision = "input_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("reply_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("in_reply_to", sa.String(64), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("routed_at", sa.String(40)),
    )
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("reply_id", sa.String(64)))
        batch.create_index("ix_documents_reply_id", ["reply_id"])


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_reply_id")
        batch.drop_column("reply_id")
    op.drop_table("replies")
