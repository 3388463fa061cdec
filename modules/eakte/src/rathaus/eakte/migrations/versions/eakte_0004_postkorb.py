"""The two-way Postkorb: the messages of a case's thread (both ways), the Nachforderung's
state, and whether the decision deadline rests

Revision ID: eakte_0004
Revises: eakte_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0004"
down_revision = "eakte_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nachrichten",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("template", sa.String(64), nullable=False, server_default=""),
        sa.Column("requested", sa.JSON, nullable=False),
        sa.Column("deadline", sa.String(10), nullable=False, server_default=""),
        sa.Column("request_status", sa.String(20), nullable=False, server_default=""),
        sa.Column("in_reply_to", sa.String(64), nullable=False, server_default=""),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("answered_at", sa.String(40)),
    )
    with op.batch_alter_table("vorgaenge") as batch:
        batch.add_column(sa.Column("frist_ruht", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("vorgaenge") as batch:
        batch.drop_column("frist_ruht")
    op.drop_table("nachrichten")
