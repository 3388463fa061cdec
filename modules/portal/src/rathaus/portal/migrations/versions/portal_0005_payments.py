"""payments: the attempts to pay a case's fee, as the citizen sees them

Revision ID: portal_0005
Revises: portal_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0005"
down_revision = "portal_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("claim_id", sa.String(36), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("transaction_url", sa.String(2082), nullable=False),
        sa.Column("kassenzeichen", sa.String(40), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("paid_at", sa.String(40)),
        sa.Column("restart_requested_at", sa.String(40)),
    )


def downgrade() -> None:
    op.drop_table("payments")
