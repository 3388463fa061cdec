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
    # records fields (eakte_0006): null = inherited from the parent entry
    sa.Column("aussonderungsart", sa.String(1)),  # A archivwürdig | B bewerten | V vernichten
    sa.Column("aufbewahrung", sa.String(12)),  # years ("10") or "unbefristet"
    sa.Column("gueltig_ab", sa.String(10)),
    sa.Column("gueltig_bis", sa.String(10)),
    sa.Column("aktiv", sa.Boolean, nullable=False, server_default=sa.true()),  # false: stillgelegt
    # when the records manager last changed it (eakte_0008_lifecycle); null: as in the data
    sa.Column("verwaltet_am", sa.String(40)),
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
    # the decision deadline rests while documents are requested (eakte_0004)
    sa.Column("frist_ruht", sa.Boolean, nullable=False, server_default=sa.false()),
    # records lifecycle (eakte_0006): offen | zda | storniert | abgegeben | ausgesondert |
    # vernichtet; retention counts from zda_at, Aufbewahrungsende is an ISO day
    sa.Column("lifecycle", sa.String(16), nullable=False, server_default="offen"),
    sa.Column("zda_at", sa.String(40)),
    sa.Column("bewertungsvorschlag", sa.String(1)),  # A | B | V
    sa.Column("aufbewahrungsende", sa.String(10)),
    sa.Index("ix_vorgaenge_retention", "lifecycle", "aufbewahrungsende"),
    # file lifecycle (eakte_0008_lifecycle): the reason of a Stornierung; when something
    # arrived for the closed case (the case worker's attention, cleared when seen)
    sa.Column("abschluss_vermerk", sa.Text, nullable=False, server_default=""),
    sa.Column("eingang_nach_abschluss", sa.String(40)),
    # personal (eakte_0007_geschaeftsgang): no deputy (Vertretung) sees or works the case
    sa.Column("persoenlich", sa.Boolean, nullable=False, server_default=sa.false()),
)
# Umschreibungen: a Vorgang moved to another Aktenplan entry gets a new Aktenzeichen; the old
# one stays here and still finds the case (eakte_0008_lifecycle)
aktenzeichen_historie = sa.Table(
    "aktenzeichen_historie",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("old", sa.String(40), nullable=False, index=True),
    sa.Column("new", sa.String(40), nullable=False),
    sa.Column("old_aktenplan", sa.String(32), nullable=False),
    sa.Column("new_aktenplan", sa.String(32), nullable=False),
    sa.Column("old_unit", sa.String(32), nullable=False),
    sa.Column("new_unit", sa.String(32), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),  # staff username
    sa.Column("reason", sa.Text, nullable=False),
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
    # the Geschäftsgang (eakte_0007_geschaeftsgang): each row is a step of a route
    # (store_gang.verfuegungen); ``step`` counts on across the routes of a case
    sa.Column("verfuegung_id", sa.String(36), index=True),
    sa.Column("number", sa.Integer, nullable=False, server_default="1"),  # the step's number in its route
    sa.Column("person", sa.String(64), nullable=False, server_default=""),  # a username; "" the unit
    sa.Column("role", sa.String(32), nullable=False, server_default=""),  # reserved to a level
    sa.Column("instruction", sa.Text, nullable=False, server_default=""),
    sa.Column("due", sa.String(10), nullable=False, server_default=""),
    sa.Column(
        "state", sa.String(16), nullable=False, server_default="current"
    ),  # future|current|done|skipped
    sa.Column(
        "attachment", sa.String(100), nullable=False, server_default=""
    ),  # a Stellungnahme's document id
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
# -- fees: the Forderung of a case, its payment attempts, refund tasks, reconciliation --------
forderungen = sa.Table(
    "forderungen",
    metadata,
    sa.Column("claim_id", sa.String(36), primary_key=True),
    sa.Column("case_id", sa.String(64), nullable=False, unique=True),
    sa.Column("kassenzeichen", sa.String(20), nullable=False, unique=True),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("lines", sa.JSON, nullable=False),  # BookingLine as JSON, in order
    sa.Column("payment", sa.String(16), nullable=False),  # the procedure's policy
    sa.Column("state", sa.String(20), nullable=False),  # offen | bezahlt | erstattung_offen | erstattet
    sa.Column("day", sa.String(10), nullable=False),  # the reference day of the rates
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("paid_at", sa.String(40)),
)
zahlungen = sa.Table(
    "zahlungen",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_id", sa.String(36), nullable=False, index=True),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # INITIAL | PAYED | FAILED | CANCELED | EXPIRED
    sa.Column("amount_cents", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payment_method", sa.String(16), nullable=False, server_default=""),
    sa.Column("requested_at", sa.String(40)),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("paid_at", sa.String(40)),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("claim_id", "transaction_id"),
)
erstattungen = sa.Table(
    "erstattungen",
    metadata,
    sa.Column("refund_id", sa.String(36), primary_key=True),
    sa.Column("cause", sa.String(120), nullable=False, unique=True),  # e.g. refused:<claim>, double:<tx>
    sa.Column("claim_id", sa.String(36), nullable=False, index=True),
    sa.Column("case_id", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False, index=True),
    sa.Column("reason", sa.String(32), nullable=False),  # refused | double_payment
    sa.Column("limit_cents", sa.Integer, nullable=False),  # at most this much can be refunded
    sa.Column("status", sa.String(16), nullable=False),  # offen | vorgeschlagen | gebucht
    sa.Column("amount_cents", sa.Integer),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("proposed_by", sa.String(36)),
    sa.Column("proposed_at", sa.String(40)),
    sa.Column("approved_by", sa.String(36)),
    sa.Column("booked_at", sa.String(40)),
)
abgleich = sa.Table(
    "abgleich",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(120), nullable=False, unique=True),  # one finding, recorded once
    sa.Column("day", sa.String(10), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # ok (matched) | offen | geklaert
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
# -- appointments booked in the portal, for the staff day view and the check-in --------------
termine = sa.Table(
    "termine",
    metadata,
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
    sa.Column("status", sa.String(16), nullable=False),  # gebucht | storniert | eingecheckt
    sa.Column("booked_at", sa.String(40)),
    sa.Column("cancelled_at", sa.String(40)),
    sa.Column("checked_in_at", sa.String(40)),
    sa.Column("checked_in_by", sa.String(36)),
)
# -- the two-way Postkorb (eakte_0004): a case's thread, both ways; a staff message with
# requested documents is a Nachforderung (request_status: offen | eingegangen | erinnert |
# nach_aktenlage) -------------------------------------------------------------------------------
nachrichten = sa.Table(
    "nachrichten",
    metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),  # a reply: the portal's reply id
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("direction", sa.String(20), nullable=False),  # an_antragsteller | von_antragsteller
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("template", sa.String(64), nullable=False, server_default=""),
    sa.Column("requested", sa.JSON, nullable=False),  # [{document_type, title}]
    sa.Column("deadline", sa.String(10), nullable=False, server_default=""),
    sa.Column("request_status", sa.String(20), nullable=False, server_default=""),
    sa.Column("in_reply_to", sa.String(64), nullable=False, server_default=""),
    sa.Column("documents", sa.JSON, nullable=False),  # document ids filed with it
    sa.Column("author", sa.String(100), nullable=False),  # staff username, or "antragsteller"
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("answered_at", sa.String(40)),
)
