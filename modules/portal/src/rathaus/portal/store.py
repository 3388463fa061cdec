"""The portal's database: accounts, login throttling, drafts, applications, Postkorb,
organisation accounts (Unternehmenskonten) with members, invitations and their audit log."""

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
    sa.Column("service_version", sa.Integer),  # the version the draft was started with
    sa.Column("organisation_id", sa.String(36)),  # acting for this organisation
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
    # applied for on behalf of this organisation: every member sees it (portal_0002)
    sa.Column("organisation_id", sa.String(36), index=True),
    sa.Column("service_version", sa.Integer),
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
    # the Bescheid of an organisation's case: in the Postkorb of every member (portal_0002)
    sa.Column("organisation_id", sa.String(36), index=True),
    sa.UniqueConstraint("case_id", "sha256"),
)

# -- organisation accounts (portal_0002) ------------------------------------------------------

organisations = sa.Table(
    "organisations",
    metadata,
    sa.Column("organisation_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("legal_form", sa.String(40), nullable=False),
    sa.Column("register_number", sa.String(40), nullable=False),  # "" when not registered
    sa.Column("street", sa.String(120), nullable=False),
    sa.Column("house_number", sa.String(20), nullable=False),
    sa.Column("postal_code", sa.String(5), nullable=False),
    sa.Column("city", sa.String(80), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column(
        "organisation_id",
        sa.String(36),
        sa.ForeignKey("organisations.organisation_id"),
        primary_key=True,
    ),
    sa.Column(
        "account_id", sa.String(36), sa.ForeignKey("accounts.account_id"), primary_key=True, index=True
    ),
    sa.Column("role", sa.String(16), nullable=False),  # admin | member
    sa.Column("since", sa.String(40), nullable=False),
)
# the token itself is only in the e-mail; a new one replaces it when the invitation is sent again
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("invitation_id", sa.String(36), primary_key=True),
    sa.Column(
        "organisation_id",
        sa.String(36),
        sa.ForeignKey("organisations.organisation_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("invited_by", sa.String(36), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # offen | angenommen | abgelehnt | zurueckgezogen
    sa.Column("mail_sent", sa.Boolean, nullable=False),
    sa.Column("sent_at", sa.String(40), nullable=False),  # when the current token was made
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("answered_at", sa.String(40)),
    sa.Column("answered_by", sa.String(36)),
    sa.Column("created_at", sa.String(40), nullable=False),
)
# who changed what in an organisation account, and when; names accounts and invitations by
# id, never an e-mail address (an invited address may belong to no member)
organisation_audit = sa.Table(
    "organisation_audit",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("organisation_id", sa.String(36), nullable=False, index=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(36), nullable=False),  # the account that acted
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(36)),  # the account or invitation concerned
    sa.Column("detail", sa.String(200), nullable=False),
)
# register data fetched through the API: a preview until a submission names it (the citizen's
# confirmation); then used once
register_requests = sa.Table(
    "register_requests",
    metadata,
    sa.Column("evidence_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(36), nullable=False, index=True),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("registers", sa.JSON, nullable=False),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("fetched_at", sa.String(40), nullable=False),
    sa.Column("used_by", sa.String(36)),
)

# -- payments (portal_0005): what the citizen sees of the fee's payment attempts -----------------

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("claim_id", sa.String(36), nullable=False),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("transaction_url", sa.String(2082), nullable=False),
    sa.Column("kassenzeichen", sa.String(40), nullable=False),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    # offen | bezahlt | fehlgeschlagen | abgebrochen | abgelaufen
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("requested_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("paid_at", sa.String(40)),
    sa.Column("restart_requested_at", sa.String(40)),  # the citizen asked for the next attempt
)

# -- identity (portal_0006): logins through an external identity provider -----------------------

# (provider, subject) -> account: the provider's stable pseudonym (BundID: bPK2) of a person
identity_links = sa.Table(
    "identity_links",
    metadata,
    sa.Column("provider_id", sa.String(32), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("account_id", sa.String(36), nullable=False, index=True),
    sa.Column("linked_at", sa.String(40), nullable=False),
    sa.Column("last_login_at", sa.String(40), nullable=False),
)
# a login sent to a provider and not yet answered: OIDC state (with nonce and PKCE verifier)
# or SAML request id; deleted when the answer arrives, so every answer is accepted once
identity_requests = sa.Table(
    "identity_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("provider_id", sa.String(32), nullable=False),
    sa.Column("nonce", sa.String(128), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("next", sa.String(2000), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False, index=True),
)
# what a provider sent at a person's first login, until they create or link an account
identity_arrivals = sa.Table(
    "identity_arrivals",
    metadata,
    sa.Column("arrival_id", sa.String(64), primary_key=True),
    sa.Column("provider_id", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("next", sa.String(2000), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False, index=True),
)
# an organisation identity (Mein Unternehmenskonto's organisation pseudonym) -> organisation
organisation_identities = sa.Table(
    "organisation_identities",
    metadata,
    sa.Column("provider_id", sa.String(32), primary_key=True),
    sa.Column("pseudonym", sa.String(255), primary_key=True),
    sa.Column("organisation_id", sa.String(36), nullable=False, index=True),
    sa.Column("linked_at", sa.String(40), nullable=False),
)
