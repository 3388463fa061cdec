"""open data: one fact per case, the state of each dataset

Revision ID: opendata_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faelle",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("stadtbezirk", sa.String(80)),
        sa.Column("antrag_monat", sa.String(7)),
        sa.Column("ergebnis", sa.String(16)),
        sa.Column("bescheid_monat", sa.String(7)),
    )
    op.create_index("ix_faelle_service", "faelle", ["service_id"])
    op.create_table(
        "datensaetze",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("angelegt", sa.String(40), nullable=False),
        sa.Column("geaendert", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("datensaetze")
    op.drop_index("ix_faelle_service", table_name="faelle")
    op.drop_table("faelle")
