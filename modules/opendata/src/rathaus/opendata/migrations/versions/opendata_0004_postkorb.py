"""open data: the two-way Postkorb — one fact per Nachforderung (service, month sent, how
it was answered, hours until the reply) and one per delivered Bescheid (service, month
delivered, channel, how it was notified)

Revision ID: opendata_0004_postkorb
Revises: opendata_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0004_postkorb"
down_revision = "opendata_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # new tables: no earlier fact holds a Nachforderung or a channel. Bescheide delivered
    # before this revision are not counted here (their channel was never kept); new events
    # fill the tables from now on.
    op.create_table(
        "nachforderungen",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64)),
        sa.Column("monat", sa.String(7)),
        sa.Column("angefordert", sa.String(40)),
        sa.Column("frist", sa.String(10)),
        sa.Column("antwort", sa.String(40)),
        sa.Column("ergebnis", sa.String(16)),
        sa.Column("antwort_stunden", sa.Integer),
        sa.Column("aktenlage", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_nachforderungen_service", "nachforderungen", ["service_id"])
    op.create_index("ix_nachforderungen_case", "nachforderungen", ["case_id"])
    op.create_table(
        "bekanntgaben",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.String(64)),
        sa.Column("monat", sa.String(7)),
        sa.Column("kanal", sa.String(16)),
        sa.Column("art", sa.String(24)),
        sa.Column("vermutet", sa.String(10)),
    )
    op.create_index("ix_bekanntgaben_service", "bekanntgaben", ["service_id"])
    op.create_index("ix_bekanntgaben_vermutet", "bekanntgaben", ["vermutet"])


def downgrade() -> None:
    op.drop_table("bekanntgaben")
    op.drop_table("nachforderungen")
