"""open data: one fact per case whose fee was paid online (payment method, month paid,
the attempt that counts, month refunded)

Revision ID: opendata_0003
Revises: opendata_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0003"
down_revision = "opendata_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a new table: no earlier fact holds a payment, nothing to carry over
    op.create_table(
        "zahlungen",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("versuch", sa.Integer),
        sa.Column("zahlungsart", sa.String(16)),
        sa.Column("bezahlt_monat", sa.String(7)),
        sa.Column("erstattet_monat", sa.String(7)),
    )


def downgrade() -> None:
    op.drop_table("zahlungen")
