"""the street directory's editions published as events (broker.street-directory.published)

Revision ID: broker_0005
Revises: broker_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "broker_0005"
down_revision = "broker_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_editions",
        sa.Column("edition", sa.String(64), primary_key=True),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("published_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("directory_editions")
