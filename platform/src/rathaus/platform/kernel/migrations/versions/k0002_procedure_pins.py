"""kernel table: procedure versions this module's cases use, with their digest

Revision ID: k0002
Revises: k0001
"""

import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rathaus_procedure_pins",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("first_case", sa.String(64), nullable=False),
        sa.Column("pinned_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rathaus_procedure_pins")
