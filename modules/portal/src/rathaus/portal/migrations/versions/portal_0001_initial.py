"""portal tables: accounts, login failures, drafts, applications, Postkorb

Revision ID: portal_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.String(10), nullable=False),
        sa.Column("assurance_level", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("email_hash", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(40)),
        sa.Column("last_failure_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "drafts",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),  # confirmed register data uses
        sa.Column("attachments", sa.JSON, nullable=False),
        sa.Column("preview", sa.JSON),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "applications",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False, index=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("aktenzeichen", sa.String(40)),
        sa.Column("submitted_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "postkorb",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False, index=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("aktenzeichen", sa.String(40), nullable=False),
        sa.Column("bekanntgabe", sa.String(10), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("case_id", "sha256"),
    )


def downgrade() -> None:
    op.drop_table("postkorb")
    op.drop_table("applications")
    op.drop_table("drafts")
    op.drop_table("login_failures")
    op.drop_table("accounts")
