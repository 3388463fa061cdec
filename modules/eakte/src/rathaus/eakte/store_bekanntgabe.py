"""The E-Akte's record of how a case's Bescheid became notified (eakte_0005), on the E-Akte's
metadata: the day of notice with its legal basis (from output), and the first retrieval from
the Postkorb with who, when and from where (from the portal) — the proof the authority must
be able to give (§ 9 Abs. 1 Satz 5 OZG)."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.eakte.store import metadata

bekanntgaben = sa.Table(
    "bekanntgaben",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),  # the Bescheid
    sa.Column("channel", sa.String(32), nullable=False),  # postkorb | email | akte
    sa.Column("provided_at", sa.String(40), nullable=False),  # provided, sent, or filed (ISO)
    sa.Column("presumed", sa.String(10), nullable=False),  # the day the presumption gives (ISO)
    sa.Column("bekanntgabe", sa.String(10), nullable=False),  # the day of notice (ISO)
    sa.Column("by_retrieval", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("retrieved_at", sa.String(40)),  # the first retrieval, once output counted it
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("determined", sa.Boolean, nullable=False, server_default=sa.false()),  # after a retrieval
    sa.Column("appeal_ends", sa.String(10), nullable=False, server_default=""),  # "" if none runs
)

abrufe = sa.Table(
    "abrufe",
    metadata,
    sa.Column("retrieval_id", sa.String(36), primary_key=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("retrieved_at", sa.String(40), nullable=False),
    sa.Column("account_id", sa.String(36), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False, server_default=""),
    sa.Column("client_address", sa.String(64), nullable=False),
    sa.Column("user_agent", sa.String(400), nullable=False),
)
