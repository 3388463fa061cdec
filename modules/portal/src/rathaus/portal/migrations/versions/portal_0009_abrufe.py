"""Bekanntgabe: the first retrieval of each Bescheid from the Postkorb (§ 9 Abs. 1 OZG)

Revision ID: portal_0009
Revises: portal_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0009"
down_revision = "portal_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "abrufe",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("retrieval_id", sa.String(36), nullable=False, unique=True),
        sa.Column("case_id", sa.String(36), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("retrieved_at", sa.String(40), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(400), nullable=False),
        sa.Column("bekanntgabe", sa.String(10)),
        sa.Column("by_retrieval", sa.Boolean),
    )


def downgrade() -> None:
    op.drop_table("abrufe")
