"""input management: running cases, documents on their way, OCR results

Revision ID: input_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "input_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("aktenzeichen", sa.String(40), unique=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.String(40)),
    )
    op.create_table(
        "documents",
        sa.Column("document_id", sa.String(64), primary_key=True),
        sa.Column("medium", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob", sa.JSON, nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(64), nullable=False, server_default=""),
        sa.Column("case_id", sa.String(64)),
        sa.Column("service_id", sa.String(64)),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("traceparent", sa.String(64)),
        sa.Column("text", sa.Text),
        sa.Column("ocr_confidence", sa.Float),
        sa.Column("read_method", sa.String(16)),
        sa.Column("pages", sa.Integer),
        sa.Column("document_type", sa.String(64)),
        sa.Column("title", sa.String(200)),
        sa.Column("aktenzeichen_found", sa.JSON),
        sa.Column("note", sa.String(200)),
        sa.Column("suggestion", sa.JSON),
        sa.Column("aktenzeichen", sa.String(40)),
        sa.Column("unit", sa.String(32)),
        sa.Column("routed_at", sa.String(40)),
        sa.Column("routed_by", sa.String(64)),
        sa.Column("read_failures", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_documents_status", "documents", ["status"])
    op.create_index("ix_documents_case_id", "documents", ["case_id"])
    op.create_index("ix_documents_routed_at", "documents", ["routed_at"])
    op.create_table(
        "readings",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("read_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("readings")
    op.drop_index("ix_documents_routed_at", "documents")
    op.drop_index("ix_documents_case_id", "documents")
    op.drop_index("ix_documents_status", "documents")
    op.drop_table("documents")
    op.drop_table("cases")
