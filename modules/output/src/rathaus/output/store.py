"""Output management's database: decisions waiting for their delivery command, deliveries, mails."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

bescheide = sa.Table(
    "bescheide",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("decision", sa.JSON),  # DecisionMade data, once it arrived
    sa.Column("command", sa.JSON),  # DeliverDecision data, once it arrived
    sa.Column("unit", sa.String(32)),
    sa.Column("aktenzeichen", sa.String(40)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("document", sa.JSON),
    sa.Column("sent_at", sa.String(40)),
    sa.Column("bekanntgabe", sa.String(10)),
    sa.Column("channel", sa.String(32)),
    sa.Column("mail_to", sa.String(200)),
    sa.Column("mail_status", sa.String(16)),  # pending | sent | failed | none
    sa.Column("mail_attempts", sa.Integer, nullable=False, server_default="0"),
)
