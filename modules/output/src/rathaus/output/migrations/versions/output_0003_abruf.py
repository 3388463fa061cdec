"""output management: the first retrieval of a Postkorb Bescheid (§ 9 Abs. 1 OZG)

Revision ID: output_0003
Revises: output_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "output_0003"
down_revision = "output_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bescheide") as batch:
        batch.add_column(sa.Column("retrieved_at", sa.String(40)))
        batch.add_column(sa.Column("by_retrieval", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("bescheide") as batch:
        batch.drop_column("by_retrieval")
        batch.drop_column("retrieved_at")
