"""The portal's tables for online appointments (portal_0004), on the portal's metadata.

Capacity lives in ``appointment_seats``: one row per occupied seat (location, slot start,
seat number below the location's ``counters``) under the primary key. A hold, a booking
and a cancelled slot still blocked against appointment trading all own seats; a seat whose
``expires_at`` has passed is free, and the transaction that takes it deletes it first. So a
slot never has more rows than counters, whatever runs at the same time, on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.portal.store import metadata

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("appointment_id", sa.String(36), primary_key=True),
    sa.Column("reference", sa.String(12), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),  # held | confirmed | cancelled
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(64), nullable=False),
    sa.Column("starts_at", sa.String(16), nullable=False, index=True),  # local time, to the minute
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("persons", sa.Integer, nullable=False),
    sa.Column("case_id", sa.String(36), nullable=False, index=True),  # "" without an application
    sa.Column("account_id", sa.String(36), index=True),
    sa.Column("name", sa.String(100)),
    sa.Column("email", sa.String(200)),
    sa.Column("email_hash", sa.String(64), index=True),  # for the limit of open appointments
    sa.Column("hold_token_hash", sa.String(64)),  # the browser that reserved it
    sa.Column("hold_until", sa.String(40)),
    sa.Column("extensions", sa.Integer, nullable=False),
    sa.Column("token_hash", sa.String(64), unique=True),  # the link in the e-mail (only its hash)
    sa.Column("rebook_of", sa.String(36)),  # a hold that replaces this appointment when confirmed
    sa.Column("sequence", sa.Integer, nullable=False),  # the ICS SEQUENCE
    # no longer written (False): the confirmation goes through the kernel's mail outbox (k0003)
    sa.Column("mail_sent", sa.Boolean, nullable=False),
    sa.Column("reminder_sent", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("confirmed_at", sa.String(40)),
    sa.Column("cancelled_at", sa.String(40)),
    sa.Column("cancel_reason", sa.String(16)),  # citizen | rebooked | staff
)
appointment_seats = sa.Table(
    "appointment_seats",
    metadata,
    sa.Column("location_id", sa.String(64), primary_key=True),
    sa.Column("slot_start", sa.String(16), primary_key=True),
    sa.Column("seat", sa.Integer, primary_key=True),
    sa.Column("appointment_id", sa.String(36), nullable=False, index=True),
    sa.Column("expires_at", sa.String(40)),  # None: booked; else free after this (UTC ISO)
)
# fixed-window counters of the rate limit, shared by every replica of the portal; keys are
# HMACs of the IP address or account and the action (no address is stored)
rate_hits = sa.Table(
    "rate_hits",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("window", sa.Integer, primary_key=True),
    sa.Column("hits", sa.Integer, nullable=False),
)
# proof-of-work challenges already used (each solves one reservation), until they expire
used_challenges = sa.Table(
    "used_challenges",
    metadata,
    sa.Column("challenge_hash", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.Integer, nullable=False, index=True),
)
