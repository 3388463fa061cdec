"""identity: logins through external identity providers (links, open requests, first logins,
organisation identities)

Revision ID: portal_0006
Revises: portal_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0006"
down_revision = "portal_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_links",
        sa.Column("provider_id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(255), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("linked_at", sa.String(40), nullable=False),
        sa.Column("last_login_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_identity_links_account_id", "identity_links", ["account_id"])
    op.create_table(
        "identity_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("provider_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_identity_requests_created_at", "identity_requests", ["created_at"])
    op.create_table(
        "identity_arrivals",
        sa.Column("arrival_id", sa.String(64), primary_key=True),
        sa.Column("provider_id", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("next", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_identity_arrivals_created_at", "identity_arrivals", ["created_at"])
    op.create_table(
        "organisation_identities",
        sa.Column("provider_id", sa.String(32), primary_key=True),
        sa.Column("pseudonym", sa.String(255), primary_key=True),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("linked_at", sa.String(40), nullable=False),
    )
    op.create_index(
        "ix_organisation_identities_organisation_id", "organisation_identities", ["organisation_id"]
    )


def downgrade() -> None:
    op.drop_table("organisation_identities")
    op.drop_table("identity_arrivals")
    op.drop_table("identity_requests")
    op.drop_table("identity_links")
