"""open data: the processing time of a case (whole hours), and its start and end only
until both halves of the case are known

Revision ID: opendata_0002
Revises: opendata_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0002"
down_revision = "opendata_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN of nullable columns: the same on SQLite and PostgreSQL, no table copy
    op.add_column("faelle", sa.Column("beginn", sa.String(40)))
    op.add_column("faelle", sa.Column("ende", sa.String(40)))
    op.add_column("faelle", sa.Column("dauer_stunden", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("faelle") as batch:
        batch.drop_column("dauer_stunden")
        batch.drop_column("ende")
        batch.drop_column("beginn")
