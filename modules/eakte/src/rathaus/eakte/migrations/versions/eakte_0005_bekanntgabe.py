"""Bekanntgabe: the day of notice of a case's Bescheid with its legal basis, and the first
retrieval from the Postkorb (who, when, from where)

Revision ID: eakte_0005
Revises: eakte_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0005"
down_revision = "eakte_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bekanntgaben",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("provided_at", sa.String(40), nullable=False),
        sa.Column("presumed", sa.String(10), nullable=False),
        sa.Column("bekanntgabe", sa.String(10), nullable=False),
        sa.Column("by_retrieval", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("retrieved_at", sa.String(40)),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("determined", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("appeal_ends", sa.String(10), nullable=False, server_default=""),
    )
    op.create_table(
        "abrufe",
        sa.Column("retrieval_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("retrieved_at", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False, server_default=""),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(400), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("abrufe")
    op.drop_table("bekanntgaben")
