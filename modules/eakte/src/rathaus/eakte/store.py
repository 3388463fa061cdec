"""Tables of the E-Akte: organisation, file plan, staff, Akten/Vorgänge/Dokumente, decisions, audit."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

units = sa.Table(
    "units",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
)
aktenplan = sa.Table(
    "aktenplan",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("parent", sa.String(32)),
    sa.Column("unit", sa.String(32), sa.ForeignKey("units.code")),
)
staff = sa.Table(
    "staff",
    metadata,
    sa.Column("staff_id", sa.String(36), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("unit", sa.String(32), sa.ForeignKey("units.code"), nullable=False),
)
serials = sa.Table(
    "serials",
    metadata,
    sa.Column("aktenplan", sa.String(32), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)
vorgaenge = sa.Table(
    "vorgaenge",
    metadata,
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
documents = sa.Table(
    "documents",
    metadata,
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
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("decided_by", sa.String(36), nullable=False),
    sa.Column("decided_at", sa.String(40), nullable=False),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("case_id", sa.String(64), index=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
