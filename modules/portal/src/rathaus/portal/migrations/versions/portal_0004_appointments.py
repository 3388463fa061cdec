"""online appointments: appointments, their seats (capacity), rate-limit counters and used
proof-of-work challenges

Revision ID: portal_0004
Revises: portal_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_0004"
down_revision = "portal_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("appointment_id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(12), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.String(16), nullable=False, index=True),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("persons", sa.Integer, nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False, index=True),
        sa.Column("account_id", sa.String(36), index=True),
        sa.Column("name", sa.String(100)),
        sa.Column("email", sa.String(200)),
        sa.Column("email_hash", sa.String(64), index=True),
        sa.Column("hold_token_hash", sa.String(64)),
        sa.Column("hold_until", sa.String(40)),
        sa.Column("extensions", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("rebook_of", sa.String(36)),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("mail_sent", sa.Boolean, nullable=False),
        sa.Column("reminder_sent", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("confirmed_at", sa.String(40)),
        sa.Column("cancelled_at", sa.String(40)),
        sa.Column("cancel_reason", sa.String(16)),
    )
    op.create_table(
        "appointment_seats",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("slot_start", sa.String(16), primary_key=True),
        sa.Column("seat", sa.Integer, primary_key=True),
        sa.Column("appointment_id", sa.String(36), nullable=False, index=True),
        sa.Column("expires_at", sa.String(40)),
    )
    op.create_table(
        "rate_hits",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("window", sa.Integer, primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
    )
    op.create_table(
        "used_challenges",
        sa.Column("challenge_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Integer, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("used_challenges")
    op.drop_table("rate_hits")
    op.drop_table("appointment_seats")
    op.drop_table("appointments")
