"""the portal's copy of the street directory, kept from the data broker's events

Revision ID: portal_0010
Revises: portal_0009
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0010"
down_revision = "portal_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strassenverzeichnis",
        sa.Column("edition", sa.String(64), primary_key=True),
        sa.Column("street_key", sa.String(120), primary_key=True),
        sa.Column("postal_code", sa.String(5), primary_key=True),
        sa.Column("house_number", sa.String(10), primary_key=True),
        sa.Column("attributes", sa.JSON, nullable=False),
    )
    op.create_table(
        "strassenverzeichnis_teile",
        sa.Column("edition", sa.String(64), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "strassenverzeichnis_aktuell",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("edition", sa.String(64), nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("strassenverzeichnis_aktuell")
    op.drop_table("strassenverzeichnis_teile")
    op.drop_table("strassenverzeichnis")
