"""the city's street directory (Straßenverzeichnis): address -> Stadtbezirk, parking zone

Revision ID: broker_0002
Revises: broker_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "broker_0002"
down_revision = "broker_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strassen",
        sa.Column("street_key", sa.String(120), primary_key=True),
        sa.Column("house_number", sa.String(10), primary_key=True),
        sa.Column("postal_code", sa.String(5), primary_key=True),
        sa.Column("street", sa.String(120), nullable=False),
        sa.Column("stadtbezirk", sa.String(80), nullable=False),
        sa.Column("parkzone", sa.String(80), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("strassen")
