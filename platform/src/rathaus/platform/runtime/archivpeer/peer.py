"""The Test-Archiv's work: read what the authority put into the transfer directory, appraise
offered files by its rule, answer with receipts, the Bewertungsverzeichnis and the import
confirmation, and keep what it received (SQLite under ``<data_dir>/archivpeer``), so tests
can check exactly which objects were delivered.

Appraisal rule: an object named in the rules (by Aktenzeichen) gets that decision; else the
authority's Bewertungsvorschlag A or V is followed; B is decided by ``b`` (A, V, or
"offen": left unappraised). With ``halten`` set, the 0506 import confirmation is held back
until released (a test control) — the window in which a platform may crash."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rathaus.platform.runtime.archivpeer.messages import Unreadable, parse_name, read, write

log = logging.getLogger("rathaus.archivpeer")
OPEN = "offen"
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, code TEXT, prozess_id TEXT, at TEXT, ok INTEGER, error TEXT);
CREATE TABLE IF NOT EXISTS offered (prozess_id TEXT, sgo_id TEXT, aktenzeichen TEXT, vorschlag TEXT, art TEXT,
    bewertung TEXT, PRIMARY KEY (prozess_id, sgo_id));
CREATE TABLE IF NOT EXISTS delivered (prozess_id TEXT, sgo_id TEXT, aktenzeichen TEXT, archivkennung TEXT,
    documents TEXT, at TEXT, PRIMARY KEY (prozess_id, sgo_id));
CREATE TABLE IF NOT EXISTS held (prozess_id TEXT PRIMARY KEY, sender_code TEXT, sender_name TEXT, results TEXT);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass
class PeerConfig:
    code: str  # the archive's key in the xdomea header
    name: str
    inbox: Path  # what the authority sends (its outbox)
    outbox: Path  # what the archive answers (the authority's inbox)


def _write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, folder / name)


class ArchivePeer:
    def __init__(self, data_dir: Path, config: PeerConfig) -> None:
        self.config = config
        folder = data_dir / "archivpeer"
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "archiv.sqlite", check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()

    # -- test controls -------------------------------------------------------------------------

    def controls(self) -> dict[str, Any]:
        with self.lock:
            rows = dict(self.db.execute("SELECT key, value FROM settings").fetchall())
        return {
            "b": rows.get("b", "A"),
            "halten": rows.get("halten") == "1",
            "regeln": json.loads(rows.get("regeln", "{}")),
            "fehlschlag": json.loads(rows.get("fehlschlag", "[]")),
        }

    def set_controls(self, changes: dict[str, Any]) -> dict[str, Any]:
        """b: A | V | offen; regeln: {Aktenzeichen: A | V | offen}; fehlschlag: [Aktenzeichen]
        (import fails); halten: true holds 0506 back, false sends what was held."""
        values: dict[str, str] = {}
        if "b" in changes:
            if changes["b"] not in ("A", "V", OPEN):
                raise ValueError("b muss A, V oder offen sein")
            values["b"] = changes["b"]
        if "regeln" in changes:
            rules = {str(k): str(v) for k, v in dict(changes["regeln"]).items()}
            if any(v not in ("A", "V", OPEN) for v in rules.values()):
                raise ValueError("Regeln: A, V oder offen je Aktenzeichen")
            values["regeln"] = json.dumps(rules)
        if "fehlschlag" in changes:
            values["fehlschlag"] = json.dumps([str(a) for a in changes["fehlschlag"]])
        if "halten" in changes:
            values["halten"] = "1" if changes["halten"] else "0"
        with self.lock:
            for key, value in values.items():
                self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))
        if values.get("halten") == "0":
            self.release()
        return self.controls()

    def appraise(self, aktenzeichen: str, vorschlag: str) -> str:
        controls = self.controls()
        if aktenzeichen in controls["regeln"]:
            return str(controls["regeln"][aktenzeichen])
        if vorschlag in ("A", "V"):
            return vorschlag
        return str(controls["b"])

    # -- the exchange --------------------------------------------------------------------------

    def process_once(self) -> int:
        """Read every package in the inbox once; returns how many were read."""
        inbox = self.config.inbox
        if not inbox.is_dir():
            return 0
        names = sorted(
            (p for p in inbox.iterdir() if p.is_file() and p.name.endswith(".xdomea")),
            key=lambda p: (p.stat().st_mtime_ns, p.name),
        )
        for path in names:
            self._process(path)
        return len(names)

    def _process(self, path: Path) -> None:
        name = path.name
        with self.lock:
            seen = self.db.execute("SELECT 1 FROM files WHERE name = ? AND ok = 1", (name,)).fetchone()
        if seen:  # the authority sent it again after a crash: answered already
            self._move(path, "verarbeitet")
            return
        parsed = parse_name(name)
        try:
            if parsed is None:
                raise Unreadable("Dateiname passt nicht zu {ProzessID}_{Nachrichtentyp}.xdomea")
            message = read(path.read_bytes())
            if (message.prozess_id, message.code) != parsed:
                raise Unreadable("Kopf passt nicht zum Dateinamen")
            if message.code == "0501":
                self._offered(message)
            elif message.code == "0503":
                self._delivered(message)
            elif message.code != "0505":
                raise Unreadable(f"Nachricht {message.code} ist nicht an ein Archiv gerichtet")
        except Unreadable as exc:
            log.error("Test-Archiv: %s abgelehnt: %s", name, exc)
            self._record(name, parsed, False, str(exc))
            self._move(path, "abgelehnt")
            return
        self._record(name, parsed, True, "")
        self._move(path, "verarbeitet")

    def _record(self, name: str, parsed: tuple[str, str] | None, ok: bool, error: str) -> None:
        pid, code = parsed or ("", "")
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (name, code, pid, datetime.now(UTC).isoformat(), int(ok), error),
            )

    def _move(self, path: Path, where: str) -> None:
        target = path.parent / where
        target.mkdir(exist_ok=True)
        shutil.move(str(path), str(target / path.name))

    def _answer(self, code: str, pid: str, them: tuple[str, str], **kwargs: Any) -> None:
        name, package = write(code, pid, (self.config.code, self.config.name), them, **kwargs)
        _write(self.config.outbox, name, package)

    def _offered(self, message: Any) -> None:
        them = (message.sender_code, message.sender_name)
        if message.receipt_wanted:
            self._answer("0504", message.prozess_id, them)
        appraisals = []
        with self.lock:
            for obj in message.objects:
                decision = self.appraise(obj.aktenzeichen, obj.vorschlag)
                self.db.execute(
                    "INSERT OR REPLACE INTO offered VALUES (?, ?, ?, ?, ?, ?)",
                    (message.prozess_id, obj.sgo_id, obj.aktenzeichen, obj.vorschlag, obj.art, decision),
                )
                if decision in ("A", "V"):
                    appraisals.append((obj.sgo_id, decision))
        if appraisals:
            self._answer("0502", message.prozess_id, them, appraisals=appraisals)

    def _delivered(self, message: Any) -> None:
        them = (message.sender_code, message.sender_name)
        missing = [
            d["member"] for o in message.objects for d in o.documents if d["member"] not in message.files
        ]
        if missing:
            raise Unreadable(f"{len(missing)} Primärdokument(e) fehlen im Paket")
        if message.receipt_wanted:
            self._answer("0507", message.prozess_id, them)
        failing = set(self.controls()["fehlschlag"])
        results = []
        year = datetime.now(UTC).year
        with self.lock:
            count = self.db.execute("SELECT COUNT(*) FROM delivered").fetchone()[0]
            for number, obj in enumerate(message.objects, start=count + 1):
                if obj.aktenzeichen in failing:
                    results.append((obj.sgo_id, False, "", "Import im Test-Archiv abgelehnt (Teststeuerung)"))
                    continue
                kennung = f"TEST-ARCHIV {self.config.code}/{year}/{number:05d}"
                documents = [
                    {"id": d["id"], "member": d["member"], "size": len(message.files[d["member"]])}
                    for d in obj.documents
                ]
                self.db.execute(
                    "INSERT OR REPLACE INTO delivered VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        message.prozess_id,
                        obj.sgo_id,
                        obj.aktenzeichen,
                        kennung,
                        json.dumps(documents),
                        datetime.now(UTC).isoformat(),
                    ),
                )
                results.append((obj.sgo_id, True, kennung, ""))
        if self.controls()["halten"]:
            with self.lock:
                self.db.execute(
                    "INSERT OR REPLACE INTO held VALUES (?, ?, ?, ?)",
                    (message.prozess_id, them[0], them[1], json.dumps(results)),
                )
            return
        self._answer("0506", message.prozess_id, them, results=results)

    def release(self) -> int:
        """Send the held import confirmations."""
        with self.lock:
            held = self.db.execute(
                "SELECT prozess_id, sender_code, sender_name, results FROM held"
            ).fetchall()
        for pid, code, name, results in held:
            self._answer("0506", pid, (code, name), results=[tuple(r) for r in json.loads(results)])
            with self.lock:
                self.db.execute("DELETE FROM held WHERE prozess_id = ?", (pid,))
        return len(held)

    # -- what the tests and the page read ------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            offered = self.db.execute(
                "SELECT prozess_id, sgo_id, aktenzeichen, vorschlag, art, bewertung FROM offered ORDER BY rowid"
            ).fetchall()
            delivered = self.db.execute(
                "SELECT prozess_id, sgo_id, aktenzeichen, archivkennung, documents, at FROM delivered ORDER BY rowid"
            ).fetchall()
            files = self.db.execute(
                "SELECT name, code, prozess_id, at, ok, error FROM files ORDER BY at"
            ).fetchall()
            held = [r[0] for r in self.db.execute("SELECT prozess_id FROM held").fetchall()]
        return {
            "angeboten": [
                dict(
                    zip(
                        ("prozess_id", "sgo_id", "aktenzeichen", "vorschlag", "art", "bewertung"),
                        r,
                        strict=True,
                    )
                )
                for r in offered
            ],
            "uebernommen": [
                {
                    "prozess_id": r[0],
                    "sgo_id": r[1],
                    "aktenzeichen": r[2],
                    "archivkennung": r[3],
                    "dokumente": json.loads(r[4]),
                    "at": r[5],
                }
                for r in delivered
            ],
            "dateien": [
                dict(zip(("name", "code", "prozess_id", "at", "ok", "fehler"), r, strict=True)) for r in files
            ],
            "gehalten": held,
            "steuerung": self.controls(),
        }

    def close(self) -> None:
        with self.lock:
            self.db.close()
