"""The Test-Archiv's web app: its page (what it was offered and took), the test controls, and
the HTTP transfer endpoint (PUT ``/eingang/<name>``; GET ``/ausgang/``, GET and DELETE
``/ausgang/<name>``) beside the transfer directory; it reads its inbox in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from html import escape
from typing import Any

from litestar import Litestar, Request, Response, delete, get, post, put
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath

from rathaus.platform.runtime.archivpeer.messages import parse_name
from rathaus.platform.runtime.archivpeer.peer import ArchivePeer, _write

MARK = "Test-Archiv – kein echtes Archiv, nichts wird dauerhaft archiviert"
log = logging.getLogger("rathaus.archivpeer")


def _checked(name: str) -> str:
    if parse_name(name) is None:
        raise NotFoundException("Kein xdomea-Paketname.")
    return name


def page(peer: ArchivePeer) -> str:
    state = peer.state()
    rows_offered = "".join(
        f"<tr><td>{escape(o['aktenzeichen'])}</td><td>{escape(o['vorschlag'])}</td>"
        f"<td>{escape(o['bewertung'])}</td><td><code>{escape(o['prozess_id'])}</code></td></tr>"
        for o in state["angeboten"]
    )
    rows_taken = "".join(
        f"<tr><td>{escape(o['aktenzeichen'])}</td><td>{escape(o['archivkennung'])}</td>"
        f"<td>{len(o['dokumente'])}</td><td><code>{escape(o['prozess_id'])}</code></td></tr>"
        for o in state["uebernommen"]
    )
    controls = state["steuerung"]
    return f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test-Archiv {escape(peer.config.name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}}
.mark{{background:#fff3cd;border:2px solid #7a5b00;padding:.5rem 1rem;font-weight:bold}}
table{{border-collapse:collapse;margin:1rem 0}}th,td{{border:1px solid #555;padding:.25rem .5rem;text-align:left}}</style>
</head><body><main>
<p class="mark" role="note">{MARK}</p>
<h1>Test-Archiv: {escape(peer.config.name)} ({escape(peer.config.code)})</h1>
<p>Bewertung bei Vorschlag B: {escape(str(controls["b"]))}; Importbestätigung zurückhalten:
{"ja" if controls["halten"] else "nein"}.</p>
<h2>Angebotene Vorgänge (0501)</h2>
<table><thead><tr><th scope="col">Aktenzeichen</th><th scope="col">Vorschlag</th>
<th scope="col">Bewertung</th><th scope="col">ProzessID</th></tr></thead><tbody>{rows_offered}</tbody></table>
<h2>Übernommene Vorgänge (0503/0506)</h2>
<table><thead><tr><th scope="col">Aktenzeichen</th><th scope="col">Archivkennung</th>
<th scope="col">Dokumente</th><th scope="col">ProzessID</th></tr></thead><tbody>{rows_taken}</tbody></table>
</main></body></html>"""


def create_app(peer: ArchivePeer, poll_seconds: float) -> Litestar:
    @contextlib.asynccontextmanager
    async def reading(_: Litestar) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await asyncio.to_thread(peer.process_once)
                except Exception:
                    log.exception("Test-Archiv: Lesen des Transferverzeichnisses fehlgeschlagen")
                await asyncio.sleep(poll_seconds)

        task = asyncio.create_task(loop(), name="archivpeer")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @get("/health", media_type=MediaType.JSON)
    async def health() -> dict[str, Any]:
        return {"ok": True, "test": True, "archiv": peer.config.code}

    @get("/", media_type=MediaType.HTML)
    async def index() -> str:
        return await asyncio.to_thread(page, peer)

    @get("/steuerung", media_type=MediaType.JSON)
    async def state() -> dict[str, Any]:
        return await asyncio.to_thread(peer.state)

    @post("/steuerung", media_type=MediaType.JSON, status_code=200)
    async def control(request: Request[Any, Any, Any]) -> dict[str, Any]:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValidationException("Ein JSON-Objekt erwartet.")
        try:
            return await asyncio.to_thread(peer.set_controls, changes)
        except ValueError as exc:
            raise ValidationException(str(exc)) from None

    @put("/eingang/{name:str}", status_code=201)
    async def receive(name: FromPath[str], request: Request[Any, Any, Any]) -> None:
        await asyncio.to_thread(_write, peer.config.inbox, _checked(name), await request.body())

    @get("/ausgang/", media_type=MediaType.JSON)
    async def listing() -> list[str]:
        folder = peer.config.outbox
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.endswith(".xdomea"))

    @get("/ausgang/{name:str}")
    async def fetch(name: FromPath[str]) -> Response[bytes]:
        path = peer.config.outbox / _checked(name)
        if not path.is_file():
            raise NotFoundException("Nicht (mehr) vorhanden.")
        return Response(await asyncio.to_thread(path.read_bytes), media_type="application/zip")

    @delete("/ausgang/{name:str}", status_code=204)
    async def remove(name: FromPath[str]) -> None:
        path = peer.config.outbox / _checked(name)
        if path.is_file():
            target = peer.config.outbox / "abgeholt"
            target.mkdir(exist_ok=True)
            shutil.move(str(path), str(target / name))

    return Litestar(
        route_handlers=[health, index, state, control, receive, listing, fetch, remove],
        lifespan=[reading],
        request_max_body_size=2 * 1024**3,
        # the process configures logging once (rathaus CLI); Litestar's own default would
        # set the root logger to INFO and print, e.g., the mail sink's RCPT TO addresses
        logging_config=None,
    )
