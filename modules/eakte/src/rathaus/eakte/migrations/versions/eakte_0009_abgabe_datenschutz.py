"""Abgabe and data protection: handovers to and from other authorities (xdomea 0401–0403),
and the restricted state of a case's personal data (Art. 17/18 DSGVO)

Revision ID: eakte_0009_abgabe_datenschutz
Revises: eakte_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0009_abgabe_datenschutz"
down_revision = "eakte_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "abgaben",
        sa.Column("prozess_id", sa.String(64), primary_key=True),
        sa.Column("direction", sa.String(12), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("partner_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("object_id", sa.String(36), primary_key=True, server_default=""),
        sa.Column("aktenzeichen", sa.String(40), nullable=False, server_default=""),
        sa.Column("partner_aktenzeichen", sa.String(40), nullable=False, server_default=""),
        sa.Column("message", sa.String(300), nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("started_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("done_at", sa.String(40)),
    )
    op.create_index("ix_abgaben_case_id", "abgaben", ["case_id"])
    op.create_table(
        "datenschutz",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(120), nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("requested_at", sa.String(40), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("datenschutz")
    op.drop_index("ix_abgaben_case_id", table_name="abgaben")
    op.drop_table("abgaben")
