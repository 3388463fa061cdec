"""The Postkorb's threads (portal_0008): the messages of each case both ways, with read and
archive state. Nothing is deleted while a case runs; the citizen may archive a thread."""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.portal.store import metadata

nachrichten = sa.Table(
    "nachrichten",
    metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),  # the E-Akte's, or the reply's id
    sa.Column("case_id", sa.String(36), nullable=False, index=True),
    sa.Column("account_id", sa.String(36), nullable=False, index=True),
    sa.Column("organisation_id", sa.String(36), index=True),  # an organisation's case: every member's
    sa.Column("direction", sa.String(16), nullable=False),  # behoerde | buerger
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("requested", sa.JSON, nullable=False),  # [{document_type, title}]
    sa.Column("deadline", sa.String(10), nullable=False, server_default=""),
    sa.Column("in_reply_to", sa.String(64), nullable=False, server_default=""),
    sa.Column("attachments", sa.JSON, nullable=False),  # [{title, filename, size, media_type}]
    sa.Column("state", sa.String(16), nullable=False, server_default=""),  # a reply: gesendet | abgelegt
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("read", sa.Boolean, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("notified", sa.Boolean, nullable=False, server_default=sa.false()),  # the e-mail notice
    sa.Column("reminded", sa.Boolean, nullable=False, server_default=sa.false()),  # the deadline's reminder
)
