"""The portal's database: accounts, login throttling, drafts, applications, Postkorb."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(200), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100), nullable=False),
    sa.Column("birth_date", sa.String(10), nullable=False),
    sa.Column("assurance_level", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
# failed logins per e-mail address (as a hash: also for addresses without an account, so the
# lock reveals nothing about which addresses have one)
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("email_hash", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.String(40)),
    sa.Column("last_failure_at", sa.String(40), nullable=False),
)
drafts = sa.Table(
    "drafts",
    metadata,
    sa.Column("account_id", sa.String(36), primary_key=True),
    sa.Column("service_id", sa.String(64), primary_key=True),
    sa.Column("case_id", sa.String(36), nullable=False),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),  # confirmed register data uses
    sa.Column("attachments", sa.JSON, nullable=False),
    # register data fetched but not yet confirmed (or the broker's refusal): used only after "übernehmen"
    sa.Column("preview", sa.JSON),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
applications = sa.Table(
    "applications",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.String(36), nullable=False, index=True),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("aktenzeichen", sa.String(40)),
    sa.Column("submitted_at", sa.String(40), nullable=False),
)
postkorb = sa.Table(
    "postkorb",
    metadata,
    sa.Column("entry_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.String(36), nullable=False, index=True),
    sa.Column("case_id", sa.String(36), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("aktenzeichen", sa.String(40), nullable=False),
    sa.Column("bekanntgabe", sa.String(10), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("read", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("case_id", "sha256"),
)
