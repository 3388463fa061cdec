"""``rathaus integrators …``: register outside systems that read the city's events (durable
NATS consumers or webhooks), reposition them, and look after their webhook deliveries."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client

from rathaus.platform.kernel.bus import ensure_streams
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.integrators import (
    Integrator,
    IntegratorProblem,
    Registry,
    WebhookTarget,
    allowed_subjects,
    inbox_prefix,
    new_integrator,
    new_webhook_secret,
    parse_time,
    permissions,
    reconcile,
    reload_nats,
    remove_consumers,
)
from rathaus.platform.runtime.webhook_store import DeliveryStore


def add_parser(sub: Any) -> None:
    p = sub.add_parser("integrators", help="outside systems reading events: durable NATS consumers, webhooks")
    actions = p.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register an integrator (NATS user and durable consumers)")
    add.add_argument("name", help="lower case letters, digits, hyphens: its NATS user and consumer name")
    add.add_argument(
        "--subjects",
        nargs="+",
        action="extend",
        required=True,
        help="NATS subjects with wildcards, e.g. 'rathaus.eakte.>' (personal events never)",
    )
    add.add_argument("--webhook", help="deliver by HTTP POST (CloudEvents, signed) to this URL")
    add.add_argument("--since", help="start with the events from this time (default: now), e.g. 2026-11-01")
    add.add_argument("--retry-hours", type=float, default=48.0, help="webhook: retry this long (48)")
    add.add_argument("--backoff-first", type=float, default=5.0, help="webhook: first pause, seconds (5)")
    add.add_argument("--backoff-max", type=float, default=3600.0, help="webhook: longest pause, seconds")
    add.add_argument("--parallel", type=int, default=8, help="webhook: cases delivered at once (8)")
    actions.add_parser("list", help="the integrators, their consumers and deliveries")
    remove = actions.add_parser("remove", help="remove an integrator, its user and its consumers")
    remove.add_argument("name")
    replay = actions.add_parser("replay", help="reposition its consumers: deliver again from a time on")
    replay.add_argument("name")
    replay.add_argument("--since", required=True, help="e.g. 2026-11-01T00:00 (UTC)")
    dead = actions.add_parser("deadletters", help="webhook deliveries given up after the retry period")
    dead.add_argument("name")
    redeliver = actions.add_parser("redeliver", help="try parked webhook deliveries again")
    redeliver.add_argument("name")
    redeliver.add_argument("ids", nargs="*", type=int, help="delivery numbers from `deadletters`")
    redeliver.add_argument("--all", action="store_true", help="every parked delivery")
    log = actions.add_parser("log", help="the webhook delivery log, newest first")
    log.add_argument("name")
    log.add_argument("--limit", type=int, default=50)
    for parser in (add, remove, replay, dead, redeliver, log, actions.choices["list"]):
        parser.add_argument("--data-dir")


def run(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    action = args.action
    if action in ("deadletters", "redeliver", "log"):
        return _deliveries(settings, args, out)
    result: int = asyncio.run(_ACTIONS[action](settings, args, out))
    return result


def _embedded(settings: Settings) -> bool:
    """A data dir of ``rathaus up``: its nats-server configuration is ours to write."""
    return (settings.data_dir / "nats" / "users.json").exists()


async def _connect(settings: Settings) -> Client | None:
    async def quiet(_: Exception) -> None:
        """A server that is not running is reported once, by the caller, in German."""

    try:
        # nats-py keeps trying a server that refuses connections: give it a few seconds
        return await asyncio.wait_for(
            nats.connect(
                settings.nats.servers(),
                user=settings.nats.user,
                password=settings.nats.password,
                connect_timeout=5,
                # each server of the list once (a cluster node may be down), then give up
                max_reconnect_attempts=0,
                error_cb=quiet,
            ),
            10,
        )
    except Exception:  # not running: the registry is applied at the next start
        return None


def _when(moment: float | None) -> str:
    if moment is None:
        return "–"
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


async def _apply_users(settings: Settings, out: TextIO, login: Integrator | None = None) -> None:
    """Rewrite the embedded nats-server's configuration and have the running server reload
    it; with ``login``, make sure the new user can log in before saying so."""
    if not _embedded(settings):
        return
    natsauth.write_config(settings.data_dir)
    if not reload_nats(settings.data_dir):
        out.write("NATS-Server läuft nicht: die Konfiguration gilt ab dem nächsten `rathaus up`.\n")
        return
    if login is not None and login.password is not None:
        as_integrator = settings.model_copy(deep=True)
        as_integrator.nats.user, as_integrator.nats.password = login.name, login.password
        deadline = time.monotonic() + 5
        while (nc := await _connect(as_integrator)) is None:
            if time.monotonic() > deadline:
                raise IntegratorProblem(
                    "Der NATS-Server hat die neue Konfiguration nicht übernommen; siehe "
                    f"{settings.data_dir / 'logs' / 'nats-server.log'}. Der Integrator ist eingetragen "
                    "und gilt spätestens ab dem nächsten `rathaus up`."
                )
            await asyncio.sleep(0.2)  # the reload takes a moment after the signal
        await nc.close()
    out.write("NATS-Server: Konfiguration neu geladen.\n")


async def _add(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    registry = Registry.load(settings.data_dir)
    hook = None
    if args.webhook:
        url = urlsplit(args.webhook)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise IntegratorProblem(f"{args.webhook!r} ist keine http(s)-Adresse.")
        if args.retry_hours <= 0 or args.backoff_first <= 0 or args.backoff_max < args.backoff_first:
            raise IntegratorProblem("Wiederholzeit und Pausen müssen positiv sein (erste ≤ längste Pause).")
        if args.parallel < 1:
            raise IntegratorProblem("--parallel muss mindestens 1 sein.")
        hook = WebhookTarget(
            url=args.webhook,
            secret=new_webhook_secret(),
            retry_hours=args.retry_hours,
            backoff_first_seconds=args.backoff_first,
            backoff_max_seconds=args.backoff_max,
            parallel=args.parallel,
        )
    since = parse_time(args.since) if args.since else None
    integrator = new_integrator(registry, args.name, args.subjects, webhook=hook, since=since)
    registry.save()
    out.write(
        f"Integrator {integrator.name} angelegt ({integrator.kind}), Ereignisse ab {integrator.created_at}.\n"
    )
    if integrator.password is not None:
        out.write(
            f"  NATS-Benutzer     {integrator.name}\n"
            f"  Passwort          {integrator.password}   (nur jetzt angezeigt)\n"
            f"  Inbox-Präfix      {inbox_prefix(integrator.name)}\n"
        )
        if not _embedded(settings):
            out.write(
                "Für einen eigenen NATS-Server diesen Benutzer in authorization.users eintragen:\n"
                + json.dumps(
                    {
                        "user": integrator.name,
                        "password": integrator.password,
                        "permissions": permissions(integrator),
                    },
                    indent=2,
                )
                + "\n"
            )
    else:
        assert integrator.webhook is not None
        out.write(
            f"  Webhook           {integrator.webhook.url}\n"
            f"  Signaturschlüssel {integrator.webhook.secret}   (nur jetzt angezeigt)\n"
        )
    await _apply_users(settings, out, integrator)
    await _consumers(settings, integrator, out)
    return 0


async def _consumers(settings: Settings, integrator: Integrator, out: TextIO) -> None:
    nc = await _connect(settings)
    if nc is None:
        out.write("NATS nicht erreichbar: die Consumer legt der nächste `rathaus up` an.\n")
        return
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings.nats.replicas)
        for stream, subjects in (await reconcile(js, integrator)).items():
            out.write(f"  Consumer {integrator.durable} in {stream}: {len(subjects)} Ereignisarten\n")
    finally:
        await nc.close()


async def _list(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    registry = Registry.load(settings.data_dir)
    if not registry.integrators:
        out.write("Keine Integratoren angelegt.\n")
        return 0
    nc = await _connect(settings)
    store = DeliveryStore.of(settings.data_dir)
    try:
        for integrator in registry.integrators.values():
            target = integrator.webhook.url if integrator.webhook else f"NATS-Benutzer {integrator.name}"
            out.write(f"{integrator.name}  ({target})  Subjects: {' '.join(integrator.subjects)}\n")
            for stream in allowed_subjects(integrator.subjects):
                state = "NATS nicht erreichbar"
                if nc is not None:
                    try:
                        info = await nc.jetstream().consumer_info(stream, integrator.durable)
                        state = f"offen {info.num_pending}, unbestätigt {info.num_ack_pending}"
                    except Exception:
                        state = "fehlt (legt der nächste `rathaus up` an)"
                out.write(f"    {stream:18} {state}\n")
            if integrator.webhook:
                counts = store.counts(integrator.name)
                out.write(
                    f"    Zustellungen: zugestellt {counts['delivered']}, ausstehend {counts['pending']}, "
                    f"geparkt {counts['parked']}\n"
                )
    finally:
        store.close()
        if nc is not None:
            await nc.close()
    return 0


async def _remove(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    registry = Registry.load(settings.data_dir)
    integrator = registry.get(args.name)
    del registry.integrators[args.name]
    registry.save()
    await _apply_users(settings, out)
    nc = await _connect(settings)
    if nc is not None:
        try:
            await remove_consumers(nc.jetstream(), integrator)
        finally:
            await nc.close()
    else:
        out.write("NATS nicht erreichbar: seine Consumer bitte nach dem Start erneut entfernen.\n")
    store = DeliveryStore.of(settings.data_dir)
    store.forget(integrator.name)
    store.close()
    out.write(f"Integrator {integrator.name} entfernt.\n")
    return 0


async def _replay(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    registry = Registry.load(settings.data_dir)
    integrator = registry.get(args.name)
    since = parse_time(args.since)
    nc = await _connect(settings)
    if nc is None:
        raise IntegratorProblem("NATS ist nicht erreichbar; bitte erst `rathaus up` starten.")
    try:
        if integrator.webhook is not None:
            store = DeliveryStore.of(settings.data_dir)
            again = store.replay(integrator.name, since.timestamp())
            store.close()
            out.write(f"{again} bereits zugestellte oder geparkte Ereignisse werden erneut gesendet.\n")
        streams = await reconcile(nc.jetstream(), integrator, reposition=since)
    finally:
        await nc.close()
    out.write(
        f"Consumer {integrator.durable} in {', '.join(sorted(streams))} neu positioniert: "
        f"Ereignisse ab {since.isoformat(timespec='seconds')}.\n"
    )
    return 0


def _deliveries(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    integrator = Registry.load(settings.data_dir).get(args.name)
    if integrator.webhook is None:
        raise IntegratorProblem(f"{integrator.name} liest über NATS, nicht per Webhook.")
    store = DeliveryStore.of(settings.data_dir)
    try:
        if args.action == "deadletters":
            parked = store.listing(integrator.name, "parked")
            if not parked:
                out.write("Keine geparkten Zustellungen.\n")
            for d in parked:
                out.write(
                    f"{d.id:>7}  {_when(d.finished_at)}  {d.type or '(kein CloudEvent)'}  Vorgang "
                    f"{d.case_key or '–'}  id={d.event_id}  Versuche {d.attempts}\n         {d.last_error}\n"
                )
            return 0
        if args.action == "redeliver":
            if not args.all and not args.ids:
                raise IntegratorProblem("Bitte Nummern aus `deadletters` angeben oder --all.")
            count = store.redeliver(integrator.name, None if args.all else args.ids, time.time())
            out.write(f"{count} Zustellungen werden erneut versucht.\n")
            return 0
        for a in store.attempts(integrator.name, args.limit):
            result = f"HTTP {a.status_code}" if a.error is None else a.error
            out.write(
                f"{_when(a.at)}  Versuch {a.number:>2}  {result:22} {a.duration_ms:7.0f} ms  "
                f"{a.type}  Vorgang {a.case_key or '–'}  id={a.event_id}\n"
            )
        return 0
    finally:
        store.close()


_ACTIONS = {"add": _add, "list": _list, "remove": _remove, "replay": _replay}
