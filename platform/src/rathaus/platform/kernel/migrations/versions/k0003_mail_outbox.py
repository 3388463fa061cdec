"""kernel table: e-mails queued in a module's transaction, sent and retried by the kernel

Revision ID: k0003
Revises: k0002
"""

import sqlalchemy as sa
from alembic import op

revision = "k0003"
down_revision = "k0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rathaus_mail_outbox",
        sa.Column("mail_id", sa.String(36), primary_key=True),
        sa.Column("purpose", sa.String(64), nullable=False),  # e.g. "termin-gebucht"
        sa.Column("ref", sa.String(64), nullable=False),  # what it is about, e.g. the appointment id
        sa.Column("message", sa.LargeBinary(), nullable=True),  # the MIME message; dropped once settled
        sa.Column("status", sa.String(16), nullable=False),  # pending | sending | sent | failed
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("settled_at", sa.String(40), nullable=True),
        sa.Column("error", sa.String(100), nullable=True),  # the error's type, never its text
    )
    op.create_index("ix_rathaus_mail_outbox_due", "rathaus_mail_outbox", ["status", "next_at"])
    op.create_index("ix_rathaus_mail_outbox_ref", "rathaus_mail_outbox", ["ref"])


def downgrade() -> None:
    op.drop_table("rathaus_mail_outbox")
