"""organisation accounts: organisations, memberships, invitations, their audit log; the
organisation an application and a Postkorb entry belong to

Revision ID: portal_0002
Revises: portal_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0002"
down_revision = "portal_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("organisation_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("legal_form", sa.String(40), nullable=False),
        sa.Column("register_number", sa.String(40), nullable=False),
        sa.Column("street", sa.String(120), nullable=False),
        sa.Column("house_number", sa.String(20), nullable=False),
        sa.Column("postal_code", sa.String(5), nullable=False),
        sa.Column("city", sa.String(80), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "organisation_id",
            sa.String(36),
            sa.ForeignKey("organisations.organisation_id"),
            primary_key=True,
        ),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.account_id"), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("since", sa.String(40), nullable=False),
    )
    op.create_index("ix_memberships_account_id", "memberships", ["account_id"])
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.String(36), primary_key=True),
        sa.Column(
            "organisation_id",
            sa.String(36),
            sa.ForeignKey("organisations.organisation_id"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("invited_by", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mail_sent", sa.Boolean, nullable=False),
        sa.Column("sent_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("answered_at", sa.String(40)),
        sa.Column("answered_by", sa.String(36)),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_invitations_organisation_id", "invitations", ["organisation_id"])
    op.create_table(
        "organisation_audit",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(36), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(36)),
        sa.Column("detail", sa.String(200), nullable=False),
    )
    op.create_index("ix_organisation_audit_organisation_id", "organisation_audit", ["organisation_id"])
    # nullable columns without a foreign key: SQLite adds them in place, no table copy
    for table in ("applications", "postkorb"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("organisation_id", sa.String(36)))
        op.create_index(f"ix_{table}_organisation_id", table, ["organisation_id"])


def downgrade() -> None:
    for table in ("postkorb", "applications"):
        op.drop_index(f"ix_{table}_organisation_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("organisation_id")
    op.drop_index("ix_organisation_audit_organisation_id", table_name="organisation_audit")
    op.drop_table("organisation_audit")
    op.drop_index("ix_invitations_organisation_id", table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("ix_memberships_account_id", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("organisations")
