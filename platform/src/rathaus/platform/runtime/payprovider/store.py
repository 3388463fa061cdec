"""The test provider's transactions in SQLite under ``<data_dir>/payprovider``: a restart
keeps every one. Statements are short and local, so they run on the caller's thread."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rathaus.platform.kernel.payment import DECODER, ENCODER

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    transaction_id TEXT PRIMARY KEY,
    originator_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    paid_cents INTEGER,
    request_json TEXT NOT NULL,
    status TEXT NOT NULL,
    status_detail TEXT NOT NULL DEFAULT '',
    payment_method TEXT NOT NULL DEFAULT '',
    page_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    paid_at TEXT NOT NULL DEFAULT '',
    UNIQUE (originator_id, endpoint_id, request_id)
);
CREATE INDEX IF NOT EXISTS transactions_created ON transactions (substr(created_at, 1, 10));
CREATE INDEX IF NOT EXISTS transactions_paid ON transactions (substr(paid_at, 1, 10));
"""


@dataclass
class Transaction:
    transaction_id: str
    originator_id: str
    endpoint_id: str
    request_id: str
    reference: str
    amount_cents: int
    paid_cents: int | None
    request: dict[str, Any]
    status: str
    status_detail: str
    payment_method: str
    page_token: str
    created_at: str
    paid_at: str


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, data_dir: Path) -> None:
        path = data_dir / "payprovider" / "transactions.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(
        self,
        originator_id: str,
        endpoint_id: str,
        request: dict[str, Any],
        reference: str,
        amount_cents: int,
    ) -> tuple[Transaction, bool]:
        """The new transaction, or the existing one for a repeated requestId (and False)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM transactions WHERE originator_id=? AND endpoint_id=? AND request_id=?",
                (originator_id, endpoint_id, request["requestId"]),
            ).fetchone()
            if row is not None:
                return _row(row), False
            transaction_id = "TX" + secrets.token_hex(15)  # 32 characters (<= 44)
            db.execute(
                "INSERT INTO transactions (transaction_id, originator_id, endpoint_id, request_id, "
                "reference, amount_cents, request_json, status, page_token, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'INITIAL', ?, ?)",
                (
                    transaction_id,
                    originator_id,
                    endpoint_id,
                    request["requestId"],
                    reference,
                    amount_cents,
                    ENCODER.encode(request).decode(),
                    secrets.token_urlsafe(24),
                    now(),
                ),
            )
            created = db.execute("SELECT * FROM transactions WHERE transaction_id=?", (transaction_id,))
            return _row(created.fetchone()), True

    def get(self, transaction_id: str) -> Transaction | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM transactions WHERE transaction_id=?", (transaction_id,)
            ).fetchone()
        return _row(row) if row is not None else None

    def finish(self, transaction_id: str, token: str, status: str, method: str, detail: str) -> bool:
        """The payer's choice on the page: only from INITIAL, only with the page's token."""
        paid_at = now() if status == "PAYED" else ""
        with self._tx() as db:
            changed = db.execute(
                "UPDATE transactions SET status=?, payment_method=?, status_detail=?, paid_at=?, "
                "paid_cents=CASE WHEN ?='PAYED' THEN amount_cents END "
                "WHERE transaction_id=? AND page_token=? AND status='INITIAL'",
                (status, method, detail, paid_at, status, transaction_id, token),
            ).rowcount
        return changed == 1

    def force(
        self,
        transaction_id: str,
        status: str,
        paid_cents: int | None,
        paid_at: str,
        method: str,
        detail: str,
    ) -> Transaction | None:
        """Test control: any status afterwards (a late PAYED after FAILED, an underpayment)."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM transactions WHERE transaction_id=?", (transaction_id,))
            current = row.fetchone()
            if current is None:
                return None
            tx = _row(current)
            if status == "PAYED":
                paid = tx.amount_cents if paid_cents is None else paid_cents
                when = paid_at or now()
            else:
                paid, when = None, ""
            db.execute(
                "UPDATE transactions SET status=?, paid_cents=?, paid_at=?, payment_method=?, "
                "status_detail=? WHERE transaction_id=?",
                (status, paid, when, method or tx.payment_method, detail, transaction_id),
            )
        return self.get(transaction_id)

    def of_day(self, originator_id: str, endpoint_id: str, day: date) -> list[Transaction]:
        """Paid on that day (UTC) or created on it."""
        iso = day.isoformat()
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM transactions WHERE originator_id=? AND endpoint_id=? AND "
                "(substr(paid_at, 1, 10)=? OR substr(created_at, 1, 10)=?) ORDER BY created_at, transaction_id",
                (originator_id, endpoint_id, iso, iso),
            ).fetchall()
        return [_row(r) for r in rows]


def _row(row: tuple[Any, ...]) -> Transaction:
    (tid, orig, endp, req_id, ref, amount, paid, req, status, detail, method, token, created, paid_at) = row
    return Transaction(
        tid,
        orig,
        endp,
        req_id,
        ref,
        amount,
        paid,
        DECODER.decode(req),
        status,
        detail,
        method,
        token,
        created,
        paid_at,
    )
