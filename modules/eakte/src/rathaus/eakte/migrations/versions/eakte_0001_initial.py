"""E-Akte tables: organisation, file plan, staff, Vorgänge, documents, decisions, audit

Revision ID: eakte_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "eakte_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "aktenplan",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("parent", sa.String(32)),
        sa.Column("unit", sa.String(32), sa.ForeignKey("units.code")),
    )
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(32), sa.ForeignKey("units.code"), nullable=False),
    )
    op.create_table(
        "serials",
        sa.Column("aktenplan", sa.String(32), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "vorgaenge",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("aktenzeichen", sa.String(40), nullable=False, unique=True),
        sa.Column("akte_titel", sa.String(200), nullable=False),
        sa.Column("aktenplan", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("applicant", sa.JSON, nullable=False),
        sa.Column("form", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("submitted_at", sa.String(40), nullable=False),
        sa.Column("due_at", sa.String(40)),
        sa.Column("overdue_level", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "documents",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob", sa.JSON, nullable=False),
        sa.Column("document_type", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("medium", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("filed_at", sa.String(40)),  # null while the case is not opened yet
        sa.UniqueConstraint("document_id", "version"),
    )
    op.create_table(
        "decisions",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(36), nullable=False),
        sa.Column("decided_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), index=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_no_{action.lower()} BEFORE {action} ON audit "
                "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'the audit trail is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("decisions")
    op.drop_table("documents")
    op.drop_table("vorgaenge")
    op.drop_table("serials")
    op.drop_table("staff")
    op.drop_table("aktenplan")
    op.drop_table("units")
