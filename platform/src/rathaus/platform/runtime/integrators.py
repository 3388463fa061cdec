"""Integrators: outside systems that read the city's events, each with its own durable
JetStream consumers, so an integrator that is offline misses nothing.

The registry (``<data_dir>/integrators/integrators.json``, mode 0600) is the source of
truth. Each integrator gets, per producing module's stream, a durable pull consumer
``integrator-<name>`` whose ``filter_subjects`` are the contract subjects its patterns
match, minus every personal one (JetStream cannot filter "all but", so the list is
explicit and recomputed from the catalogue at every ``rathaus up``). A NATS integrator gets
its own NATS user that may only read its consumers: consumer info, next message, acks, and
its own inbox prefix. A webhook integrator gets no NATS user: the platform's deliverer
(runtime/webhooks.py) reads its consumers and posts each event to its URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from rathaus.contracts.catalogue import contracts
from rathaus.contracts.envelope import DataClass
from rathaus.platform.kernel.bus import stream_name

NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
RESERVED = frozenset({"rathaus", "integrator", "sys", "system"})
SUBJECT = re.compile(r"^rathaus(\.([A-Za-z0-9_-]+|\*))*(\.>)?$")
ACK_WAIT_SECONDS = 30.0
MAX_ACK_PENDING = 1000


class IntegratorProblem(ValueError):
    """A mistake of the operator's, reported in German as one line."""


def durable_name(name: str) -> str:
    return f"integrator-{name}"


def inbox_prefix(name: str) -> str:
    return f"_INBOX_{name}"


@dataclass
class WebhookTarget:
    url: str
    secret: str
    retry_hours: float = 48.0  # retried this long (exponential backoff), then parked
    backoff_first_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    parallel: int = 8  # cases delivered at the same time (one case's events one by one)


@dataclass
class Integrator:
    name: str
    subjects: list[str]
    created_at: str  # ISO 8601, UTC: its consumers start here unless told otherwise
    password: str | None = None  # NATS integrators only
    webhook: WebhookTarget | None = None

    @property
    def durable(self) -> str:
        return durable_name(self.name)

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook else "nats"


@dataclass
class Registry:
    path: Path
    integrators: dict[str, Integrator] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> Registry:
        path = registry_path(data_dir)
        registry = cls(path)
        if path.exists():
            for raw in json.loads(path.read_text(encoding="utf-8")):
                hook = raw.pop("webhook", None)
                registry.integrators[raw["name"]] = Integrator(
                    **raw, webhook=WebhookTarget(**hook) if hook else None
                )
        return registry

    def save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        # created 0600 before anything is written: it holds passwords and webhook secrets
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump([asdict(i) for i in self.integrators.values()], handle, indent=2)
        temporary.replace(self.path)

    def get(self, name: str) -> Integrator:
        try:
            return self.integrators[name]
        except KeyError:
            raise IntegratorProblem(f"Es gibt keinen Integrator {name!r}.") from None


def registry_path(data_dir: Path) -> Path:
    return data_dir / "integrators" / "integrators.json"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(have) > i
        if i >= len(have) or part not in ("*", have[i]):
            return False
    return len(want) == len(have)


def allowed_subjects(patterns: list[str]) -> dict[str, list[str]]:
    """Stream -> the contract subjects of that stream the patterns match, personal ones never."""
    by_stream: dict[str, list[str]] = {}
    for contract in contracts():
        if contract.data_class is DataClass.PERSONAL:
            continue
        if any(subject_matches(p, contract.subject) for p in patterns):
            by_stream.setdefault(stream_name(contract.producer), []).append(contract.subject)
    return by_stream


def check_patterns(patterns: list[str]) -> None:
    """Every pattern is a NATS subject under ``rathaus.`` and matches a readable event."""
    if not patterns:
        raise IntegratorProblem("Bitte mindestens ein Subject angeben, z. B. --subjects 'rathaus.eakte.>'.")
    everything = contracts()
    for pattern in patterns:
        if not SUBJECT.match(pattern):
            raise IntegratorProblem(
                f"{pattern!r} ist kein gültiges Subject; erlaubt sind z. B. 'rathaus.eakte.>' "
                "oder 'rathaus.*.case.*.v1'."
            )
        matched = [c for c in everything if subject_matches(pattern, c.subject)]
        if not matched:
            raise IntegratorProblem(f"{pattern!r} passt auf kein veröffentlichtes Ereignis.")
        if all(c.data_class is DataClass.PERSONAL for c in matched):
            raise IntegratorProblem(
                f"{pattern!r} passt nur auf personenbezogene Ereignisse; diese erhalten Integratoren nie."
            )


def parse_time(text: str) -> datetime:
    """``2026-11-01T00:00`` (UTC unless an offset is given) or ``2026-11-01``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise IntegratorProblem(
            f"{text!r} ist kein Zeitpunkt; erwartet z. B. 2026-11-01T00:00 (UTC) oder 2026-11-01."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def new_integrator(
    registry: Registry,
    name: str,
    patterns: list[str],
    *,
    webhook: WebhookTarget | None = None,
    since: datetime | None = None,
) -> Integrator:
    if not NAME.match(name) or name in RESERVED:
        raise IntegratorProblem(
            f"{name!r} ist als Name nicht erlaubt: Kleinbuchstaben, Ziffern und Bindestriche, "
            "2 bis 31 Zeichen, beginnend mit einem Buchstaben (nicht rathaus oder integrator)."
        )
    if name in registry.integrators:
        raise IntegratorProblem(f"Den Integrator {name!r} gibt es schon.")
    check_patterns(patterns)
    start = since or datetime.now(UTC)
    integrator = Integrator(
        name=name,
        subjects=list(dict.fromkeys(patterns)),
        created_at=start.isoformat(timespec="seconds"),
        password=None if webhook else secrets.token_urlsafe(24),
        webhook=webhook,
    )
    registry.integrators[name] = integrator
    return integrator


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def permissions(integrator: Integrator) -> dict[str, Any]:
    """What its NATS user may do: read its own consumers, nothing else."""
    allow: list[str] = []
    for stream in allowed_subjects(integrator.subjects):
        allow += [
            f"$JS.API.CONSUMER.INFO.{stream}.{integrator.durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{integrator.durable}",
            f"$JS.ACK.{stream}.{integrator.durable}.>",
        ]
    return {
        "publish": {"allow": allow},
        "subscribe": {"allow": [f"{inbox_prefix(integrator.name)}.>"]},
    }


def nats_users(data_dir: Path) -> list[dict[str, Any]]:
    """The NATS users of the registered NATS integrators (for natsauth's config)."""
    return [
        {"user": i.name, "password": i.password, "permissions": permissions(i)}
        for i in Registry.load(data_dir).integrators.values()
        if i.password is not None
    ]


def consumer_config(
    integrator: Integrator, subjects: list[str], start: datetime, replicas: int = 1
) -> ConsumerConfig:
    return ConsumerConfig(
        num_replicas=replicas,  # as many as the stream's: its position survives a node
        name=integrator.durable,
        durable_name=integrator.durable,
        description=f"Rathaus-Integrator {integrator.name}",
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=start,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=MAX_ACK_PENDING,
        filter_subjects=sorted(subjects),
    )


async def reconcile(
    js: JetStreamContext, integrator: Integrator, *, reposition: datetime | None = None
) -> dict[str, list[str]]:
    """Create its consumers where missing, bring their filters up to the catalogue, delete
    those on streams it may no longer read; with ``reposition``, recreate each (same name,
    same filters) starting at that time. Returns stream -> filter subjects."""
    wanted = allowed_subjects(integrator.subjects)
    start = datetime.fromisoformat(integrator.created_at)
    for stream, subjects in wanted.items():
        # on a cluster as many replicas as the stream (nats-server made them R1 otherwise)
        replicas = (await js.stream_info(stream)).config.num_replicas or 1
        try:
            info = await js.consumer_info(stream, integrator.durable)
        except NotFoundError:
            info = None
        if info is not None and reposition is not None:
            await js.delete_consumer(stream, integrator.durable)
            info = None
        if info is None:
            await js.add_consumer(
                stream, consumer_config(integrator, subjects, reposition or start, replicas)
            )
        elif (
            sorted(info.config.filter_subjects or [info.config.filter_subject or ""]) != sorted(subjects)
            or (info.config.num_replicas or 1) != replicas
        ):
            # a new contract version or a cluster since: the same consumer (its position
            # kept), new filters and replicas
            config = info.config
            config.filter_subjects, config.filter_subject = sorted(subjects), None
            config.num_replicas = replicas
            await js.add_consumer(stream, config)
    for stream in await _producer_streams(js):
        if stream not in wanted:
            await _delete_quietly(js, stream, integrator.durable)
    return wanted


async def remove_consumers(js: JetStreamContext, integrator: Integrator) -> None:
    for stream in await _producer_streams(js):
        await _delete_quietly(js, stream, integrator.durable)


async def _producer_streams(js: JetStreamContext) -> list[str]:
    from rathaus.contracts.catalogue import producers

    names = [stream_name(p) for p in producers()]
    present = []
    for name in names:
        try:
            await js.stream_info(name)
        except NotFoundError:
            continue
        present.append(name)
    return present


async def _delete_quietly(js: JetStreamContext, stream: str, durable: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(stream, durable)


def pid_file(data_dir: Path) -> Path:
    return data_dir / "nats" / "nats-server.pid"


def reload_nats(data_dir: Path) -> bool:
    """Ask the data dir's running nats-server to reread its configuration (SIGHUP), so a
    new integrator's user works at once. False when no server of this data dir runs: the
    next ``rathaus up`` writes and reads the configuration anyway."""
    from rathaus.platform.runtime.natscluster import embedded_pid_files

    data_dir = data_dir.resolve()
    reloaded = False
    # the single server, or every node of `rathaus up --nats-cluster` (each includes nats.conf)
    for path in [pid_file(data_dir), *embedded_pid_files(data_dir)]:
        if not path.exists():
            continue
        try:
            pid = int(path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (ValueError, OSError):
            continue
        # a stale pid file could name another process by now: signal only our own server
        if cmdline[0].endswith(b"nats-server") and str(data_dir).encode() in b" ".join(cmdline):
            os.kill(pid, signal.SIGHUP)
            reloaded = True
    return reloaded
