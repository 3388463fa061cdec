"""The webhook deliverer's SQLite file (``<data_dir>/integrators/webhooks.sqlite``): each
event it took from an integrator's consumer, its state (pending, delivered, parked) and
every attempt (the delivery log)."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rathaus.platform.runtime.integrators import WebhookTarget

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integrator TEXT NOT NULL,
    event_id TEXT NOT NULL,
    case_key TEXT NOT NULL,          -- the CloudEvents subject (case id); '' for events of no case
    type TEXT NOT NULL,
    event_time REAL,                 -- the CloudEvents time (for a replay)
    stream TEXT NOT NULL,
    stream_seq INTEGER NOT NULL,
    body BLOB,
    status TEXT NOT NULL,            -- pending | delivered | parked
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at REAL NOT NULL,
    first_attempt_at REAL,
    next_attempt_at REAL NOT NULL,
    finished_at REAL,
    last_error TEXT,
    replaced INTEGER NOT NULL DEFAULT 0,  -- 0 while current; its own id once a replay sends it again
    UNIQUE (integrator, event_id, replaced)
);
CREATE INDEX IF NOT EXISTS deliveries_lane ON deliveries (integrator, status, case_key, id);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL,
    integrator TEXT NOT NULL,
    at REAL NOT NULL,
    number INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_integrator ON attempts (integrator, id);
"""


@dataclass
class Delivery:
    id: int
    event_id: str
    case_key: str
    type: str
    status: str
    attempts: int
    received_at: float
    first_attempt_at: float | None
    next_attempt_at: float
    finished_at: float | None
    last_error: str | None
    body: bytes | None = None


@dataclass
class Attempt:
    at: float
    number: int
    event_id: str
    case_key: str
    type: str
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass
class Incoming:
    event_id: str
    case_key: str
    type: str
    stream: str
    stream_seq: int
    body: bytes
    event_time: float | None = None
    problem: str | None = None  # not a CloudEvent: parked at once


_COLUMNS = (
    "id, event_id, case_key, type, status, attempts, received_at, first_attempt_at, "
    "next_attempt_at, finished_at, last_error"
)


class DeliveryStore:
    """The deliverer's SQLite file (``<data_dir>/integrators/webhooks.sqlite``); the CLI
    reads and changes it while the platform runs (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        # the lanes' heads are read in a worker thread (a scan of the pending rows must not
        # hold up the platform's event loop during a long backlog): its own connection
        self.reader = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.reader_lock = threading.Lock()

    @classmethod
    def of(cls, data_dir: Path) -> DeliveryStore:
        return cls(data_dir / "integrators" / "webhooks.sqlite")

    def close(self) -> None:
        self.db.close()
        with self.reader_lock:
            self.reader.close()

    def add(self, integrator: str, items: Iterable[Incoming], now: float) -> int:
        """Store new events (an event already stored is ignored); returns how many were new."""
        before = self.db.total_changes
        with self.db:
            self.db.execute("BEGIN")
            for item in items:
                parked = item.problem is not None
                self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (integrator, event_id, case_key, type, event_time, "
                    "stream, stream_seq, body, status, received_at, next_attempt_at, finished_at, "
                    "last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        integrator,
                        item.event_id,
                        item.case_key,
                        item.type,
                        item.event_time,
                        item.stream,
                        item.stream_seq,
                        item.body,
                        "parked" if parked else "pending",
                        now,
                        now,
                        now if parked else None,
                        item.problem,
                    ),
                )
        return self.db.total_changes - before

    def heads(self, integrator: str) -> list[tuple[int, str, float]]:
        """The oldest pending delivery of each case: (id, case, when it is due). Safe to call
        from a worker thread; about 25 ms for 100,000 pending deliveries of 5,000 cases."""
        with self.reader_lock:
            rows = self.reader.execute(
                "SELECT d.id, d.case_key, d.next_attempt_at FROM deliveries d JOIN (SELECT MIN(id) AS id "
                "FROM deliveries WHERE integrator = ? AND status = 'pending' GROUP BY case_key) h "
                "ON d.id = h.id ORDER BY d.id",
                (integrator,),
            ).fetchall()
        return [(int(r[0]), str(r[1]), float(r[2])) for r in rows]

    def load(self, delivery_id: int) -> Delivery:
        row = self.db.execute(
            f"SELECT {_COLUMNS}, body FROM deliveries WHERE id = ?",
            (delivery_id,),
        ).fetchone()
        return Delivery(*row)

    def record(
        self,
        delivery: Delivery,
        target: WebhookTarget,
        *,
        started: float,
        now: float,
        status_code: int | None,
        error: str | None,
    ) -> str:
        """Note an attempt; the delivery is then delivered, due again later, or parked."""
        number = delivery.attempts + 1
        first = delivery.first_attempt_at or started
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO attempts (delivery_id, integrator, at, number, status_code, error, duration_ms) "
                "SELECT id, integrator, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?",
                (started, number, status_code, error, (now - started) * 1000, delivery.id),
            )
            if error is None:
                status, next_at = "delivered", now
            else:
                deadline = first + target.retry_hours * 3600
                if now >= deadline:
                    status, next_at = "parked", now
                else:
                    pause = min(target.backoff_first_seconds * 2 ** (number - 1), target.backoff_max_seconds)
                    # jitter, so that cases failing together do not come back together;
                    # the last attempt falls on the deadline: retried at least retry_hours
                    next_at = min(now + pause * random.uniform(0.8, 1.2), deadline)
                    status = "pending"
            self.db.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, first_attempt_at = ?, "
                "next_attempt_at = ?, finished_at = ?, last_error = ? WHERE id = ?",
                (
                    status,
                    number,
                    first,
                    next_at,
                    now if status != "pending" else None,
                    error,
                    delivery.id,
                ),
            )
        return status

    def listing(self, integrator: str, status: str, limit: int = 1000) -> list[Delivery]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE integrator = ? AND status = ? "
            "AND replaced = 0 ORDER BY id LIMIT ?",
            (integrator, status, limit),
        ).fetchall()
        return [Delivery(*r) for r in rows]

    def counts(self, integrator: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE integrator = ? AND replaced = 0 GROUP BY status",
            (integrator,),
        ).fetchall()
        return {"pending": 0, "delivered": 0, "parked": 0, **{str(s): int(n) for s, n in rows}}

    def attempts(self, integrator: str, limit: int = 50) -> list[Attempt]:
        rows = self.db.execute(
            "SELECT a.at, a.number, d.event_id, d.case_key, d.type, a.status_code, a.error, a.duration_ms "
            "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.integrator = ? "
            "ORDER BY a.id DESC LIMIT ?",
            (integrator, limit),
        ).fetchall()
        return [Attempt(*r) for r in rows]

    def redeliver(self, integrator: str, ids: list[int] | None, now: float) -> int:
        """Parked deliveries (all, or those ids) become due again with a fresh retry period."""
        query = (
            "UPDATE deliveries SET status = 'pending', attempts = 0, first_attempt_at = NULL, "
            "next_attempt_at = ?, finished_at = NULL WHERE integrator = ? AND status = 'parked' "
            "AND replaced = 0 AND body IS NOT NULL AND type != ''"
        )
        with self.db:
            if ids is None:
                cursor = self.db.execute(query, (now, integrator))
            else:
                marks = ",".join("?" * len(ids))
                cursor = self.db.execute(f"{query} AND id IN ({marks})", (now, integrator, *ids))
        return cursor.rowcount

    def replay(self, integrator: str, since: float) -> int:
        """Before its consumers are repositioned: the events from ``since`` that were delivered
        or parked may be stored (and sent) again; their records stay in the log."""
        with self.db:
            cursor = self.db.execute(
                "UPDATE deliveries SET replaced = id WHERE integrator = ? AND replaced = 0 "
                "AND status != 'pending' AND (event_time >= ? OR event_time IS NULL AND received_at >= ?)",
                (integrator, since, since),
            )
        return cursor.rowcount

    def forget(self, integrator: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM attempts WHERE integrator = ?", (integrator,))
            self.db.execute("DELETE FROM deliveries WHERE integrator = ?", (integrator,))

    def prune(self, now: float, *, log_days: float = 30, body_days: float = 7) -> None:
        """Old attempts go; the body of a delivered event is kept a week, then only its record."""
        with self.db:
            self.db.execute("DELETE FROM attempts WHERE at < ?", (now - log_days * 86400,))
            self.db.execute(
                "UPDATE deliveries SET body = NULL WHERE status = 'delivered' AND finished_at < ?",
                (now - body_days * 86400,),
            )
