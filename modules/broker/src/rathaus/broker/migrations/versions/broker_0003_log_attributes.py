"""the transparency log records the register attributes asked for (version 2 requests)

Revision ID: broker_0003
Revises: broker_0002

Entries written before stay as they are (NULL): they were version 1 requests, hashed
without the column, and the chain still verifies.
"""

import sqlalchemy as sa
from alembic import op

revision = "broker_0003"
down_revision = "broker_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transparency_log", sa.Column("attributes", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("transparency_log", "attributes")
