"""The portal's table of first retrievals of Bescheide from the Postkorb (portal_0009), on
the portal's metadata: the proof that a document provided for retrieval was retrieved, by
whom, when and from where (§ 9 Abs. 1 OZG), and the day of notice output determined from it."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.portal.store import metadata

abrufe = sa.Table(
    "abrufe",
    metadata,
    sa.Column("entry_id", sa.String(36), primary_key=True),  # the Postkorb entry: one first retrieval
    sa.Column("retrieval_id", sa.String(36), nullable=False, unique=True),
    sa.Column("case_id", sa.String(36), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("account_id", sa.String(36), nullable=False),  # who retrieved it
    sa.Column("retrieved_at", sa.String(40), nullable=False),  # ISO datetime (UTC)
    sa.Column("client_address", sa.String(64), nullable=False),  # as the portal saw it
    sa.Column("user_agent", sa.String(400), nullable=False),
    # from output.bekanntgabe.determined.v1, once it came
    sa.Column("bekanntgabe", sa.String(10)),
    sa.Column("by_retrieval", sa.Boolean),
)
