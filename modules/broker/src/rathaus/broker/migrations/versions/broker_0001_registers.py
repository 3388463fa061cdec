"""registers and the append-only transparency log

Revision ID: broker_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "broker_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("given_key", sa.String(100), nullable=False, index=True),
        sa.Column("family_key", sa.String(100), nullable=False, index=True),
        sa.Column("birth_date", sa.String(10), nullable=False),
        sa.Column("street", sa.String(120), nullable=False),
        sa.Column("house_number", sa.String(10), nullable=False),
        sa.Column("postal_code", sa.String(5), nullable=False),
        sa.Column("city", sa.String(60), nullable=False),
        sa.Column("stadtbezirk", sa.String(80), nullable=False),
        sa.Column("parkzone", sa.String(80), nullable=False),
        sa.Column("main_residence", sa.Boolean, nullable=False),
    )
    op.create_table(
        "vehicles",
        sa.Column("kennzeichen", sa.String(16), primary_key=True),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("residents.id"), nullable=False, index=True),
        sa.Column("make", sa.String(60), nullable=False),
        sa.Column("model", sa.String(60), nullable=False),
        sa.Column("holder_since", sa.String(10), nullable=False),
    )
    op.create_table(
        "transparency_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("requester", sa.String(40), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False, index=True),
        sa.Column("resident_id", sa.Integer, index=True),
        sa.Column("registers", sa.JSON, nullable=False),
        sa.Column("released", sa.Boolean, nullable=False),
        sa.Column("evidence_id", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER transparency_log_no_{action.lower()} BEFORE {action} ON transparency_log "
                "BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION transparency_log_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'the transparency log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER transparency_log_append_only BEFORE UPDATE OR DELETE ON transparency_log "
            "FOR EACH ROW EXECUTE FUNCTION transparency_log_append_only()"
        )


def downgrade() -> None:
    op.drop_table("transparency_log")
    op.drop_table("vehicles")
    op.drop_table("residents")
