"""Input management's database: running cases, documents on their way, OCR results."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.input.domain import KnownCase

metadata = sa.MetaData()

# Running cases as the E-Akte announced them (CaseOpened); a case the portal announced
# (ApplicationSubmitted) is here before its Aktenzeichen is.
cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("aktenzeichen", sa.String(40), unique=True),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("opened_at", sa.String(40)),
)

# Every document input management took in. Status: "neu" (to be read), "wartend" (carries
# an Aktenzeichen whose case is not known yet), "triage" (a person assigns it),
# "zugeordnet" (DocumentRouted emitted).
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("document_id", sa.String(64), primary_key=True),
    sa.Column("medium", sa.String(16), nullable=False),  # online | papier
    sa.Column("source", sa.String(32), nullable=False),  # portal | scan | eingangsordner
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("blob", sa.JSON, nullable=False),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("hint", sa.String(64), nullable=False, server_default=""),  # the attachment's kind
    sa.Column("case_id", sa.String(64), index=True),
    sa.Column("service_id", sa.String(64)),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("traceparent", sa.String(64)),  # continues the submitting event's trace
    sa.Column("text", sa.Text),
    sa.Column("ocr_confidence", sa.Float),
    sa.Column("read_method", sa.String(16)),
    sa.Column("pages", sa.Integer),
    sa.Column("document_type", sa.String(64)),
    sa.Column("title", sa.String(200)),
    sa.Column("aktenzeichen_found", sa.JSON),  # list, canonical
    sa.Column("note", sa.String(200)),  # why it waits or is in triage
    sa.Column("suggestion", sa.JSON),  # service suggested by keywords
    sa.Column("aktenzeichen", sa.String(40)),  # of the case it was routed to
    sa.Column("unit", sa.String(32)),
    sa.Column("routed_at", sa.String(40), index=True),
    sa.Column("routed_by", sa.String(64)),  # "system" or a staff id
    sa.Column("read_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reply_id", sa.String(64), index=True),  # an attachment of a Postkorb reply (input_0002)
)

# Replies from the Postkorb (input_0002): status "neu" while an attachment is being read,
# "zugeordnet" once the whole reply was routed (ReplyRouted) with all its documents.
replies = sa.Table(
    "replies",
    metadata,
    sa.Column("reply_id", sa.String(64), primary_key=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("in_reply_to", sa.String(64), nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("routed_at", sa.String(40)),
)

# OCR is the slow part: its result is kept by content, so reading the same bytes again
# (another case, a redelivery after a crash) costs nothing.
readings = sa.Table(
    "readings",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("read_at", sa.String(40), nullable=False),
)


def known_case(row: Any) -> KnownCase:
    return KnownCase(row.case_id, row.aktenzeichen, row.unit, row.service_id)


async def cases_by_aktenzeichen(session: AsyncSession, aktenzeichen: list[str]) -> dict[str, KnownCase]:
    if not aktenzeichen:
        return {}
    rows = (await session.execute(sa.select(cases).where(cases.c.aktenzeichen.in_(aktenzeichen)))).all()
    return {r.aktenzeichen: known_case(r) for r in rows}


async def document(session: AsyncSession, document_id: str) -> dict[str, Any] | None:
    row = (
        (await session.execute(sa.select(documents).where(documents.c.document_id == document_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None
