"""services as data: a draft keeps its procedure version and whom it is for; register
data fetched through the API

Revision ID: portal_0003
Revises: portal_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0003"
down_revision = "portal_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("service_version", sa.Integer))
        batch.add_column(sa.Column("organisation_id", sa.String(36)))
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("service_version", sa.Integer))
    op.create_table(
        "register_requests",
        sa.Column("evidence_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False, index=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("registers", sa.JSON, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("fetched_at", sa.String(40), nullable=False),
        sa.Column("used_by", sa.String(36)),
    )


def downgrade() -> None:
    op.drop_table("register_requests")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("service_version")
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("organisation_id")
        batch.drop_column("service_version")
