"""output management: Bescheide and their delivery

Revision ID: output_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "output_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bescheide",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("decision", sa.JSON),
        sa.Column("command", sa.JSON),
        sa.Column("unit", sa.String(32)),
        sa.Column("aktenzeichen", sa.String(40)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("document", sa.JSON),
        sa.Column("sent_at", sa.String(40)),
        sa.Column("bekanntgabe", sa.String(10)),
        sa.Column("channel", sa.String(32)),
        sa.Column("mail_to", sa.String(200)),
        sa.Column("mail_status", sa.String(16)),
        sa.Column("mail_attempts", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("bescheide")
