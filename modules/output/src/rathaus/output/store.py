"""Output management's database: decisions waiting for their delivery command, deliveries,
their e-mails, and what was sent to other authorities."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

bescheide = sa.Table(
    "bescheide",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("decision", sa.JSON),  # DecisionMade data as it came, once it arrived
    sa.Column("decision_version", sa.Integer),  # its contract version (1: upcast before rendering)
    sa.Column("command", sa.JSON),  # DeliverDecision data, once it arrived
    sa.Column("unit", sa.String(32)),
    sa.Column("aktenzeichen", sa.String(40)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("document", sa.JSON),
    sa.Column("sent_at", sa.String(40)),
    sa.Column("bekanntgabe", sa.String(10)),
    sa.Column("channel", sa.String(32)),  # postkorb | email | akte
    # the first retrieval from the Postkorb (ISO datetime) and whether it set the Bekanntgabe
    sa.Column("retrieved_at", sa.String(40)),
    sa.Column("by_retrieval", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mail_to", sa.String(200)),
    # postkorb: the notification; email: the Bescheid itself.
    # pending | sending (claimed until mail_next_at) | sent | failed | none
    sa.Column("mail_status", sa.String(16)),
    sa.Column("mail_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("mail_next_at", sa.String(40)),  # ISO datetime (UTC) of the next attempt
)

uebermittlungen = sa.Table(
    "uebermittlungen",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),  # of the AuthorityNotified
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("aktenzeichen", sa.String(40), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False, index=True),
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("recipient_name", sa.String(200), nullable=False),
    sa.Column("legal_basis", sa.String(300), nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),  # the names of the fields sent, never their values
    sa.Column("sent_at", sa.String(40), nullable=False),
)
