"""Fees and appointments: the Forderung of a case (Kassenzeichen, booking lines), its
payment attempts, refund tasks with a second approver, the reconciliation's findings, and
the appointments booked in the portal

Revision ID: eakte_0003
Revises: eakte_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0003"
down_revision = "eakte_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forderungen",
        sa.Column("claim_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, unique=True),
        sa.Column("kassenzeichen", sa.String(20), nullable=False, unique=True),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("lines", sa.JSON, nullable=False),
        sa.Column("payment", sa.String(16), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("paid_at", sa.String(40)),
    )
    op.create_table(
        "zahlungen",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("claim_id", sa.String(36), nullable=False, index=True),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("payment_method", sa.String(16), nullable=False, server_default=""),
        sa.Column("requested_at", sa.String(40)),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("paid_at", sa.String(40)),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("claim_id", "transaction_id"),
    )
    op.create_table(
        "erstattungen",
        sa.Column("refund_id", sa.String(36), primary_key=True),
        sa.Column("cause", sa.String(120), nullable=False, unique=True),
        sa.Column("claim_id", sa.String(36), nullable=False, index=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False, index=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("limit_cents", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.Integer),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("proposed_by", sa.String(36)),
        sa.Column("proposed_at", sa.String(40)),
        sa.Column("approved_by", sa.String(36)),
        sa.Column("booked_at", sa.String(40)),
    )
    op.create_table(
        "abgleich",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("day", sa.String(10), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("kassenzeichen", sa.String(40), nullable=False),
        sa.Column("claim_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("expected_cents", sa.Integer, nullable=False),
        sa.Column("paid_at", sa.String(40), nullable=False, server_default=""),
        sa.Column("found_at", sa.String(40), nullable=False),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolved_at", sa.String(40)),
    )
    op.create_table(
        "termine",
        sa.Column("appointment_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("reference", sa.String(40), nullable=False, server_default=""),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("starts_at", sa.String(40), nullable=False, server_default=""),
        sa.Column("ends_at", sa.String(40), nullable=False, server_default=""),
        sa.Column("day", sa.String(10), nullable=False, server_default="", index=True),
        sa.Column("persons", sa.Integer, nullable=False, server_default="1"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("booked_at", sa.String(40)),
        sa.Column("cancelled_at", sa.String(40)),
        sa.Column("checked_in_at", sa.String(40)),
        sa.Column("checked_in_by", sa.String(36)),
    )


def downgrade() -> None:
    for table in ("termine", "abgleich", "erstattungen", "zahlungen", "forderungen"):
        op.drop_table(table)
