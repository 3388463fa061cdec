"""Online appointments: free slots, holding a slot, booking it, cancelling and rebooking,
the e-mails with their calendar files, reminders, and the limits against bots.

Capacity is the database's: every slot a visit covers needs one seat row (see
``store_appointments``); seats are taken with INSERT … ON CONFLICT DO NOTHING in seat order,
all of one visit in one transaction, after deleting the expired seats of those slots in the
same transaction. A slot that has no seat left rolls the whole attempt back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from rathaus.contracts.platform.v1 import AppointmentReminderDue
from rathaus.contracts.portal.v1 import AppointmentBooked, AppointmentCancelled
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.appointments import Calendars, Location
from rathaus.platform.kernel.db import OnConflictInsert
from rathaus.platform.kernel.mail import Attachment, message, portal_url
from rathaus.portal import PREFIX
from rathaus.portal.domain.accounts import Account
from rathaus.portal.domain.appointments import (
    MSG_HOLD_EXPIRED,
    MSG_LIMIT,
    MSG_NO_HOLD,
    MSG_NO_LOCATION,
    MSG_PAST,
    MSG_RATE,
    MSG_RATE_NO_CHALLENGE,
    MSG_TAKEN,
    MSG_TOO_MANY_EXTENSIONS,
    CalendarEntry,
    Challenge,
    challenge_solved,
    check_contact,
    ics,
    issue_challenge,
    local,
    minutes_text,
    new_reference,
    new_token,
    sender_address,
    slot_key,
    token_hash,
    when_text,
)
from rathaus.portal.handlers.base import Base
from rathaus.portal.store_appointments import appointment_seats, appointments, rate_hits, used_challenges

log = logging.getLogger("rathaus.portal.appointments")
Row = dict[str, Any]
# the booking path's INSERT … ON CONFLICT, compiled once each (SQLAlchemy does not cache them)
COUNT_HIT = OnConflictInsert(
    rate_hits,
    index_elements=[rate_hits.c.key, rate_hits.c.window],
    set_=lambda _stmt: {"hits": rate_hits.c.hits + 1},
    returning=[rate_hits.c.hits],
)
USE_CHALLENGE = OnConflictInsert(used_challenges, returning=[used_challenges.c.challenge_hash])
TAKE_SEAT = OnConflictInsert(appointment_seats, returning=[appointment_seats.c.seat])
# the booking path's other statements, built once with parameters: built per call, each
# cost about 0.13 ms of statement construction and cache-key work before it ran
_SEATS = appointment_seats.c
FREE_EXPIRED_SEATS = appointment_seats.delete().where(
    _SEATS.location_id == sa.bindparam("b_location"),
    _SEATS.slot_start.in_(sa.bindparam("b_keys", expanding=True)),
    _SEATS.expires_at < sa.bindparam("b_now"),
)
SEATS_TAKEN = sa.select(_SEATS.slot_start, _SEATS.seat).where(
    _SEATS.location_id == sa.bindparam("b_location"),
    _SEATS.slot_start.in_(sa.bindparam("b_keys", expanding=True)),
)
KEEP_SEATS = (
    appointment_seats.update()
    .where(_SEATS.appointment_id == sa.bindparam("b_id"), _SEATS.expires_at > sa.bindparam("b_now"))
    .values(expires_at=None)
)
ADD_APPOINTMENT = appointments.insert()
APPOINTMENT = sa.select(appointments).where(appointments.c.appointment_id == sa.bindparam("b_id"))
CONFIRM_FIELDS = (
    "status", "name", "email", "email_hash", "account_id", "token_hash", "hold_token_hash", "confirmed_at"
)  # fmt: skip
CONFIRM = (
    appointments.update()
    .where(appointments.c.appointment_id == sa.bindparam("b_id"))
    .values({column: sa.bindparam(f"b_{column}") for column in CONFIRM_FIELDS})
)


def _open_count(account: bool, email: bool) -> Any:
    """How many open appointments (confirmed and to come, or held) an account or an e-mail
    address has for a service, besides the ones skipped."""
    c = appointments.c
    owners = ([c.account_id == sa.bindparam("b_account")] if account else []) + (
        [c.email_hash == sa.bindparam("b_email_hash")] if email else []
    )
    return sa.select(sa.func.count()).where(
        sa.or_(*owners),
        c.service_id == sa.bindparam("b_service"),
        c.appointment_id.not_in(sa.bindparam("b_skip", expanding=True)),
        sa.or_(
            sa.and_(c.status == "confirmed", c.starts_at > sa.bindparam("b_slot_now")),
            sa.and_(c.status == "held", c.hold_until > sa.bindparam("b_now")),
        ),
    )


OPEN_COUNT = {(a, e): _open_count(a, e) for a in (True, False) for e in (True, False) if a or e}


def rowcount(result: Any) -> int:
    """How many rows an UPDATE changed (a CursorResult's count)."""
    return int(result.rowcount)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Refused(Exception):
    """A request the calendar, the capacity or the limits refuse; ``message`` is German."""

    def __init__(self, message: str, status: int = 400, retry_after: int = 0, row: Row | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.retry_after, self.row = message, status, retry_after, row


class HoldExpired(Refused):
    """The hold ran out; ``row`` is the appointment (its slot may still be free)."""


@dataclass(frozen=True)
class Booked:
    row: Row
    token: str  # the link token, only here and in the e-mail


class Appointments(Base):
    @property
    def calendars(self) -> Calendars:
        return self.kernel.appointments

    def _key(self) -> bytes:
        return hashlib.sha256(self.kernel.settings.secret() + b"/termine").digest()

    def location_for(self, service_id: str, location_id: str) -> Location:
        loc = self.calendars.location(location_id)
        if loc is None or loc.offer(service_id) is None:
            raise Refused(MSG_NO_LOCATION, 404)
        return loc

    # -- what is free ----------------------------------------------------------------------------

    async def _occupied(self, s: Any, loc: Location, first: str, last: str, now: datetime) -> dict[str, int]:
        rows = await s.execute(
            sa.select(appointment_seats.c.slot_start, sa.func.count())
            .where(
                appointment_seats.c.location_id == loc.id,
                appointment_seats.c.slot_start >= first,
                appointment_seats.c.slot_start < last,
                sa.or_(appointment_seats.c.expires_at.is_(None), appointment_seats.c.expires_at > stamp(now)),
            )
            .group_by(appointment_seats.c.slot_start)
        )
        return {k: n for k, n in rows.all()}

    @staticmethod
    def _fits(loc: Location, start: datetime, minutes: int, occupied: dict[str, int]) -> bool:
        return all(occupied.get(slot_key(seat), 0) < loc.counters for seat in loc.seats(start, minutes))

    async def free_days(
        self, loc: Location, service_id: str, persons: int, now: datetime | None = None
    ) -> list[tuple[date, int]]:
        """Every bookable day of the window with its number of free starts (0: fully booked)."""
        now = now or datetime.now(UTC)
        first, last = loc.window(now)
        minutes = loc.minutes(service_id, persons)
        async with self.kernel.db.read() as s:
            occupied = await self._occupied(
                s, loc, first.isoformat(), (last + timedelta(days=1)).isoformat(), now
            )
        out = []
        day = first
        while day <= last:
            if loc.opening(day):
                starts = [t for t in loc.starts(service_id, day, persons) if t > now]
                out.append((day, sum(1 for t in starts if self._fits(loc, t, minutes, occupied))))
            day += timedelta(days=1)
        return out

    async def free_starts(
        self, loc: Location, service_id: str, day: date, persons: int, now: datetime | None = None
    ) -> list[datetime]:
        now = now or datetime.now(UTC)
        first, last = loc.window(now)
        if not first <= day <= last:
            return []
        minutes = loc.minutes(service_id, persons)
        async with self.kernel.db.read() as s:
            occupied = await self._occupied(
                s, loc, day.isoformat(), (day + timedelta(days=1)).isoformat(), now
            )
        return [
            t
            for t in loc.starts(service_id, day, persons)
            if t > now and self._fits(loc, t, minutes, occupied)
        ]

    async def is_free(self, row: Row) -> bool:
        """Could this (expired) hold's slot be reserved again right now?"""
        loc = self.calendars.location(row["location_id"])
        if loc is None:
            return False
        start = local(row["starts_at"])
        return start in await self.free_starts(loc, row["service_id"], start.date(), row["persons"])

    # -- against bots ----------------------------------------------------------------------------

    async def limit(
        self, action: str, subjects: list[str], per: int, window_seconds: int, msg: str = MSG_RATE
    ) -> None:
        """Count one request of each subject (an IP address, an account); raises ``Refused``
        with 429 and Retry-After when one of them is over ``per`` in the current window."""
        now = time.time()
        window = int(now // window_seconds)
        retry_after = int((window + 1) * window_seconds - now) + 1
        over = False
        async with self.kernel.db.session() as s:
            for subject in subjects:
                key = hmac.new(self._key(), f"{action}:{subject}".encode(), hashlib.sha256).hexdigest()
                hits = (await COUNT_HIT.execute(s, {"key": key, "window": window, "hits": 1})).scalar_one()
                if hits == 1:  # a new window: the old ones of this key are of no use any more
                    await s.execute(
                        rate_hits.delete().where(rate_hits.c.key == key, rate_hits.c.window < window)
                    )
                over = over or hits > per
        if over:
            raise Refused(msg.format(minutes=minutes_text(retry_after)), 429, retry_after)

    def challenge(self) -> Challenge:
        p = self.calendars.protection
        return issue_challenge(self._key(), p.challenge_bits, p.challenge_minutes)

    async def challenge_used(self, text: str, nonce: str) -> bool:
        """A solved challenge of ours, used now for the first (and only) time."""
        if not challenge_solved(self._key(), text, nonce, self.calendars.protection.challenge_bits):
            return False
        expires = int(text.split(".")[0])
        async with self.kernel.db.session() as s:
            await s.execute(used_challenges.delete().where(used_challenges.c.expires_at < int(time.time())))
            used = {"challenge_hash": hashlib.sha256(text.encode()).hexdigest(), "expires_at": expires}
            return (await USE_CHALLENGE.execute(s, used)).first() is not None

    async def guard_booking(self, ip: str, account: Account | None, challenge: str, nonce: str) -> None:
        """The rate limits of a reservation: a solved challenge counts against the normal limit;
        none (no JavaScript) against a small one of its own. Raises ``Refused`` (429)."""
        p = self.calendars.protection
        subjects = [f"ip:{ip}"] + ([f"konto:{account.account_id}"] if account else [])
        if challenge and await self.challenge_used(challenge, nonce):
            await self.limit("buchung", subjects, p.bookings_per_hour, 3600)
        else:
            await self.limit(
                "buchung-ohne", subjects, p.bookings_without_challenge_per_hour, 3600, MSG_RATE_NO_CHALLENGE
            )

    async def guard_query(self, ip: str, account: Account | None) -> None:
        subjects = [f"ip:{ip}"] + ([f"konto:{account.account_id}"] if account else [])
        await self.limit("abfrage", subjects, self.calendars.protection.queries_per_minute, 60)

    # -- holding and booking ---------------------------------------------------------------------

    async def _open_count(
        self,
        s: Any,
        service_id: str,
        now: datetime,
        account_id: str | None,
        email_hash: str | None,
        skip: list[str],
    ) -> int:
        if not account_id and not email_hash:
            return 0
        params = {
            "b_account": account_id,
            "b_email_hash": email_hash,
            "b_service": service_id,
            "b_skip": skip,
            "b_slot_now": slot_key(now),
            "b_now": stamp(now),
        }
        return int((await s.execute(OPEN_COUNT[bool(account_id), bool(email_hash)], params)).scalar_one())

    async def hold(
        self,
        *,
        service_id: str,
        location_id: str,
        start: datetime,
        persons: int,
        account: Account | None = None,
        case_id: str = "",
        rebook_of: str | None = None,
    ) -> tuple[str, str]:
        """Reserve the seats of a visit for the location's hold minutes. Returns the
        appointment id and the hold token (only the browser that reserved may book it);
        raises ``Refused`` (the calendar's reason, the limit of open appointments, or
        ``MSG_TAKEN`` when a slot has no seat left)."""
        loc = self.location_for(service_id, location_id)
        now = datetime.now(UTC)
        reason = loc.refusal(service_id, start, persons, now)
        if reason:
            raise Refused(reason, 422)
        minutes = loc.minutes(service_id, persons)
        keys = [slot_key(seat) for seat in loc.seats(start, minutes)]
        appointment_id, (hold_token, hold_hash) = str(uuid.uuid4()), new_token()
        hold_until = now + timedelta(minutes=loc.hold_minutes)
        for attempt in range(3):
            try:
                async with self.kernel.db.session() as s:
                    if account is not None:
                        skip = [rebook_of] if rebook_of else []
                        if (
                            await self._open_count(s, service_id, now, account.account_id, None, skip)
                            >= loc.max_open_per_service
                        ):
                            raise Refused(MSG_LIMIT.format(n=loc.max_open_per_service), 409)
                    # holds that ran out and cancelled slots past their release delay: free now
                    await s.execute(
                        FREE_EXPIRED_SEATS, {"b_location": loc.id, "b_keys": keys, "b_now": stamp(now)}
                    )
                    await s.execute(
                        ADD_APPOINTMENT,
                        {
                            "appointment_id": appointment_id,
                            "reference": new_reference(),
                            "status": "held",
                            "service_id": service_id,
                            "location_id": loc.id,
                            "starts_at": slot_key(start),
                            "minutes": minutes,
                            "persons": persons,
                            "case_id": case_id,
                            "account_id": account.account_id if account else None,
                            "hold_token_hash": hold_hash,
                            "hold_until": stamp(hold_until),
                            "extensions": 0,
                            "rebook_of": rebook_of,
                            "sequence": 0,
                            "mail_sent": False,
                            "reminder_sent": False,
                            "created_at": stamp(now),
                        },
                    )
                    # the seats already taken, so that each slot costs one insert, not one per
                    # occupied counter; the unique key still decides between concurrent bookers
                    occupied: dict[str, set[int]] = {key: set() for key in keys}
                    for key, seat in await s.execute(SEATS_TAKEN, {"b_location": loc.id, "b_keys": keys}):
                        occupied[key].add(seat)
                    for key in keys:
                        for seat in (n for n in range(loc.counters) if n not in occupied[key]):
                            seat_row = {
                                "location_id": loc.id,
                                "slot_start": key,
                                "seat": seat,
                                "appointment_id": appointment_id,
                                "expires_at": stamp(hold_until),
                            }
                            taken = (await TAKE_SEAT.execute(s, seat_row)).first()
                            if taken is not None:
                                break
                        else:
                            raise Refused(MSG_TAKEN, 409)
                return appointment_id, hold_token
            except DBAPIError:  # a booking number drawn twice, a deadlock on PostgreSQL: again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def held(self, appointment_id: str, hold_token: str) -> Row:
        """The hold of this browser; raises ``Refused`` (404) for anything else."""
        async with self.kernel.db.read() as s:
            row = (await s.execute(APPOINTMENT, {"b_id": appointment_id[:36]})).mappings().first()
        if (
            row is None
            or not hold_token
            or not hmac.compare_digest(row["hold_token_hash"] or "", token_hash(hold_token))
        ):
            raise Refused(MSG_NO_HOLD, 404)
        return dict(row)

    async def extend(self, appointment_id: str, hold_token: str) -> str:
        """Another ``hold_minutes`` for a hold that has not run out (WCAG 2.2.1); the new end."""
        row = await self.held(appointment_id, hold_token)
        loc = self.calendars.location(row["location_id"])
        now = datetime.now(UTC)
        if row["status"] != "held" or loc is None:
            raise Refused(MSG_NO_HOLD, 404)
        if row["extensions"] >= self.calendars.protection.max_extensions:
            raise Refused(MSG_TOO_MANY_EXTENSIONS, 409)
        until = stamp(now + timedelta(minutes=loc.hold_minutes))
        async with self.kernel.db.session() as s:
            moved = await s.execute(
                appointment_seats.update()
                .where(
                    appointment_seats.c.appointment_id == row["appointment_id"],
                    appointment_seats.c.expires_at > stamp(now),
                )
                .values(expires_at=until)
            )
            if rowcount(moved) != row["minutes"] // loc.slot_minutes:
                raise HoldExpired(MSG_HOLD_EXPIRED, 410, row=row)
            await s.execute(
                appointments.update()
                .where(appointments.c.appointment_id == row["appointment_id"])
                .values(hold_until=until, extensions=row["extensions"] + 1)
            )
        return until

    async def confirm(
        self,
        appointment_id: str,
        hold_token: str,
        name: str,
        email: str,
        account: Account | None = None,
        *,
        held: Row | None = None,
    ) -> Booked:
        """Book a held slot: its seats become permanent, the booking event goes out with the
        same commit, and a rebooking releases the old appointment after the new one is safe.
        Raises ``Refused`` (``HoldExpired`` when the hold ran out). ``held`` is the row
        :meth:`held` just gave for this id and token (the page had to read it anyway); the
        seats' update below decides whether the hold still stands either way."""
        if held is not None and held["appointment_id"] == appointment_id[:36]:
            row = dict(held)
        else:
            row = await self.held(appointment_id, hold_token)
        errors = check_contact(name, email)
        if errors:
            raise Refused(" ".join(errors.values()), 400)
        loc = self.calendars.location(row["location_id"])
        if row["status"] != "held" or loc is None:
            raise Refused(MSG_NO_HOLD, 404)
        now = datetime.now(UTC)
        if row["hold_until"] <= stamp(now):
            raise HoldExpired(MSG_HOLD_EXPIRED, 410, row=row)
        token, link_hash = new_token()
        email = email.strip()
        email_hash = hmac.new(self._key(), email.lower().encode(), hashlib.sha256).hexdigest()
        async with self.kernel.transaction() as uow:
            s = uow.session
            skip = [row["appointment_id"]] + ([row["rebook_of"]] if row["rebook_of"] else [])
            account_id = account.account_id if account else row["account_id"]
            if (
                await self._open_count(s, row["service_id"], now, account_id, email_hash, skip)
                >= loc.max_open_per_service
            ):
                raise Refused(MSG_LIMIT.format(n=loc.max_open_per_service), 409)
            kept = await s.execute(KEEP_SEATS, {"b_id": row["appointment_id"], "b_now": stamp(now)})
            if rowcount(kept) != row["minutes"] // loc.slot_minutes:
                raise HoldExpired(MSG_HOLD_EXPIRED, 410, row=row)
            changes = {
                "status": "confirmed",
                "name": name.strip(),
                "email": email,
                "email_hash": email_hash,
                "account_id": account_id,
                "token_hash": link_hash,
                "hold_token_hash": None,
                "confirmed_at": stamp(now),
            }
            assert tuple(changes) == CONFIRM_FIELDS  # the statement sets exactly these
            await s.execute(
                CONFIRM, {"b_id": row["appointment_id"], **{f"b_{k}": v for k, v in changes.items()}}
            )
            row.update(changes)
            start = local(row["starts_at"])
            await uow.emit(
                AppointmentBooked(
                    appointment_id=row["appointment_id"],
                    reference=row["reference"],
                    case_id=row["case_id"],
                    service_id=row["service_id"],
                    location=loc.id,
                    starts_at=start.isoformat(),
                    ends_at=(start + timedelta(minutes=row["minutes"])).isoformat(),
                    persons=row["persons"],
                    name=row["name"],
                    booked_at=stamp(now),
                ),
                subject=row["case_id"] or row["appointment_id"],
            )
            old = None
            if row["rebook_of"]:  # the new one is booked: only now release the old one
                old = await self._cancel_in(uow, row["rebook_of"], "rebooked", now)
            await self._mail_booked(uow, row, token, old)  # sent after the commit, retried
        return Booked(row, token)

    # -- the booked appointment ---------------------------------------------------------------

    async def by_token(self, token: str) -> Row | None:
        if not token or len(token) > 100:
            return None
        async with self.kernel.db.read() as s:
            row = (
                (
                    await s.execute(
                        sa.select(appointments).where(appointments.c.token_hash == token_hash(token))
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    async def of_account(self, account: Account, case_id: str | None = None) -> list[Row]:
        """The account's booked and cancelled appointments (of one case), soonest first."""
        query = sa.select(appointments).where(
            appointments.c.account_id == account.account_id, appointments.c.status != "held"
        )
        if case_id is not None:
            query = query.where(appointments.c.case_id == case_id)
        async with self.kernel.db.read() as s:
            rows = (await s.execute(query.order_by(appointments.c.starts_at))).mappings().all()
        return [dict(r) for r in rows]

    async def of_account_by_id(self, account: Account, appointment_id: str) -> Row | None:
        return next(
            (r for r in await self.of_account(account) if r["appointment_id"] == appointment_id), None
        )

    def changeable(self, row: Row) -> bool:
        return row["status"] == "confirmed" and local(row["starts_at"]) > datetime.now(UTC)

    async def cancel(self, row: Row, reason: str = "citizen") -> Row:
        """Cancel a booked appointment: its seats are free again after the release delay."""
        if row["status"] != "confirmed":
            raise Refused("Dieser Termin ist bereits abgesagt.", 409)
        if not self.changeable(row):
            raise Refused(MSG_PAST, 409)
        async with self.kernel.transaction() as uow:
            cancelled = await self._cancel_in(uow, row["appointment_id"], reason, datetime.now(UTC))
            if cancelled is not None:
                await self._mail_cancelled(uow, cancelled)
        if cancelled is None:
            raise Refused("Dieser Termin ist bereits abgesagt.", 409)
        return cancelled

    async def _cancel_in(
        self, uow: UnitOfWork, appointment_id: str, reason: str, now: datetime
    ) -> Row | None:
        s = uow.session
        row = (
            (
                await s.execute(
                    sa.select(appointments).where(
                        appointments.c.appointment_id == appointment_id, appointments.c.status == "confirmed"
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        loc = self.calendars.location(row["location_id"])
        release = now + timedelta(minutes=loc.release_minutes if loc else 0)
        await s.execute(
            appointment_seats.update()
            .where(appointment_seats.c.appointment_id == appointment_id)
            .values(expires_at=stamp(release))
        )
        changes = {
            "status": "cancelled",
            "cancelled_at": stamp(now),
            "cancel_reason": reason,
            "sequence": row["sequence"] + 1,
        }
        await s.execute(
            appointments.update().where(appointments.c.appointment_id == appointment_id).values(**changes)
        )
        await uow.emit(
            AppointmentCancelled(
                appointment_id=appointment_id,
                case_id=row["case_id"],
                location=row["location_id"],
                reason=reason,
                cancelled_at=stamp(now),
            ),
            subject=row["case_id"] or appointment_id,
        )
        return {**dict(row), **changes}

    # -- calendar files and e-mails ---------------------------------------------------------------

    def calendar_file(self, row: Row) -> bytes:
        loc = self.calendars.location(row["location_id"])
        title = self.calendars.title(row["service_id"])
        place = f"{loc.name}, {loc.address}" if loc else row["location_id"]
        return ics(
            CalendarEntry(
                uid=f"{row['appointment_id']}@termine.rathaus",
                sequence=row["sequence"],
                method="CANCEL" if row["status"] == "cancelled" else "REQUEST",
                summary=f"Termin: {title}",
                description=(
                    f"Buchungsnummer {row['reference']}, {row['persons']} "
                    f"{'Person' if row['persons'] == 1 else 'Personen'}. Bitte bringen Sie die nötigen Unterlagen mit."
                ),
                location=place,
                starts_at=local(row["starts_at"]),
                minutes=row["minutes"],
                organizer=sender_address(self.kernel.settings.smtp.sender),
                attendee=row["email"] or "",
                stamp=datetime.now(UTC),
            )
        )

    def _describe(self, row: Row) -> str:
        loc = self.calendars.location(row["location_id"])
        return (
            f"Leistung: {self.calendars.title(row['service_id'])}\n"
            f"Wann: {when_text(row['starts_at'], row['minutes'])}\n"
            f"Wo: {loc.name + ', ' + str(loc.address) if loc else row['location_id']}\n"
            f"Personen: {row['persons']}\n"
            f"Buchungsnummer: {row['reference']}\n"
        )

    async def _queue(
        self, uow: UnitOfWork, row: Row, purpose: str, subject: str, body: str, files: list[tuple[str, Row]]
    ) -> None:
        """The e-mail goes into the kernel's mail outbox with the change it reports: sent after
        the commit, retried while the mail server is away (never lost, never in the request)."""
        attachments = [
            Attachment(
                filename,
                self.calendar_file(which),
                "text/calendar",
                {"method": "CANCEL" if which["status"] == "cancelled" else "REQUEST"},
            )
            for filename, which in files
        ]
        mail = message(self.kernel.settings, row["email"], subject, body, attachments)
        await self.kernel.mails.queue(uow.session, mail, purpose=purpose, ref=row["appointment_id"])

    async def _mail_booked(self, uow: UnitOfWork, row: Row, token: str, old: Row | None) -> None:
        link = f"{portal_url(self.kernel.settings)}{PREFIX}/termine/verwalten/{token}"
        body = (
            f"Guten Tag {row['name']},\n\nIhr Termin ist gebucht.\n\n{self._describe(row)}\n"
            f"Den Termin im Kalender finden Sie im Anhang (termin.ics).\n"
            f"Absagen oder verschieben können Sie ihn ohne Anmeldung über diesen Link:\n{link}\n"
            "Bitte geben Sie den Link nicht weiter.\n"
        )
        if old is not None:
            body += f"\nIhr bisheriger Termin ({when_text(old['starts_at'], old['minutes'])}) ist damit abgesagt.\n"
        files = [("termin.ics", row)] + ([("abgesagt.ics", old)] if old else [])
        await self._queue(uow, row, "termin-gebucht", "Ihr Termin im Bürgerbüro ist gebucht", body, files)

    async def _mail_cancelled(self, uow: UnitOfWork, row: Row) -> None:
        body = f"Guten Tag {row['name']},\n\nIhr Termin ist abgesagt.\n\n{self._describe(row)}"
        files = [("abgesagt.ics", row)]
        await self._queue(uow, row, "termin-abgesagt", "Ihr Termin im Bürgerbüro ist abgesagt", body, files)

    async def on_reminder_due(self, event: AppointmentReminderDue, uow: UnitOfWork) -> None:
        """The day before: remind, once, unless the appointment was cancelled or moved."""
        row = (
            (
                await uow.session.execute(
                    sa.select(appointments).where(appointments.c.appointment_id == event.appointment_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None or row["status"] != "confirmed" or row["reminder_sent"] or not row["email"]:
            return
        body = (
            f"Guten Tag {row['name']},\n\nwir erinnern Sie an Ihren Termin.\n\n{self._describe(dict(row))}\n"
            "Wenn Sie nicht kommen können, sagen Sie den Termin bitte über den Link in Ihrer "
            "Buchungsbestätigung ab, damit andere ihn nutzen können.\n"
        )
        await self._queue(
            uow, dict(row), "termin-erinnerung", "Erinnerung: Ihr Termin im Bürgerbüro", body, []
        )
        await uow.session.execute(
            appointments.update()
            .where(appointments.c.appointment_id == event.appointment_id)
            .values(reminder_sent=True)
        )

    async def appointment_titles(self) -> dict[str, str]:
        return dict(self.calendars.titles)
