"""Tables of the E-Akte: organisation, file plan, staff, Akten/Vorgänge/Dokumente, decisions,
co-signing (Beteiligungen), audit."""

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
    sa.Column("service_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("procedure_digest", sa.String(64), nullable=False, server_default=""),
    sa.Column("unit", sa.String(32), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("applicant", sa.JSON, nullable=False),  # a Party (contracts.common_v2)
    sa.Column("data", sa.JSON, nullable=False),  # the application's data, typed JSON
    sa.Column("files", sa.JSON, nullable=False),  # file field -> {title, filename, document_type, sha256}
    sa.Column("warnings", sa.JSON, nullable=False),  # hints the applicant saw and submitted anyway
    sa.Column("stadtbezirk", sa.String(80), nullable=False, server_default=""),
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
    sa.Column("decided_by", sa.String(36), nullable=False),  # staff id or "system"
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False, server_default="clerk"),
    sa.Column("facts", sa.JSON),
)
# Who else takes part in a case: today the Mitzeichnung of a co-signing unit; a step
# number and a kind so that a Geschäftsgang (xdomea Beteiligungsschritt) fits in later.
beteiligungen = sa.Table(
    "beteiligungen",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("unit", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),  # "mitzeichnung"
    sa.Column("status", sa.String(32), nullable=False),  # angefordert | mitgezeichnet | einwaende
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("requested_at", sa.String(40), nullable=False),
    sa.Column("by", sa.String(64)),  # username of whoever answered
    sa.Column("at", sa.String(40)),  # when they answered
    sa.UniqueConstraint("case_id", "step", "unit", "kind"),
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
