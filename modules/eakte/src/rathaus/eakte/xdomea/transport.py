"""How xdomea packages reach the archive and come back: a transfer directory (``outbox`` to
the archive, ``inbox`` from it; what a DIMAG/x-man installation shares) or an HTTP endpoint
(PUT ``<url>/eingang/<name>``; GET ``<url>/ausgang/`` lists, GET/DELETE one package).
Received packages are kept: processed ones under ``inbox/verarbeitet``, refused ones under
``inbox/abgelehnt`` (over HTTP: a local copy under the given ``keep`` directory)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Protocol

import httpx

SUFFIX = ".xdomea"
DONE, REFUSED = "verarbeitet", "abgelehnt"


class TransferUnavailable(Exception):
    """The archive's transfer directory or endpoint cannot be reached (retried later)."""


class Transport(Protocol):
    async def send(self, name: str, package: bytes) -> None: ...
    async def incoming(self) -> list[str]: ...
    async def read(self, name: str) -> bytes: ...
    async def done(self, name: str, accepted: bool, package: bytes | None) -> None: ...


def write_atomically(folder: Path, name: str, data: bytes) -> None:
    """Whole or not at all: the other side never reads a half-written package."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / name)


class DirectoryTransport:
    def __init__(self, outbox: Path, inbox: Path) -> None:
        self.outbox, self.inbox = outbox, inbox

    async def send(self, name: str, package: bytes) -> None:
        try:
            await asyncio.to_thread(write_atomically, self.outbox, name, package)
        except OSError as exc:
            raise TransferUnavailable(f"Transferverzeichnis {self.outbox}: {exc.strerror}") from exc

    async def incoming(self) -> list[str]:
        def listing() -> list[str]:
            if not self.inbox.is_dir():
                return []
            files = [p for p in self.inbox.iterdir() if p.is_file() and p.name.endswith(SUFFIX)]
            return [p.name for p in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))]

        return await asyncio.to_thread(listing)

    async def read(self, name: str) -> bytes:
        return await asyncio.to_thread((self.inbox / name).read_bytes)

    async def done(self, name: str, accepted: bool, package: bytes | None) -> None:
        def move() -> None:
            target = self.inbox / (DONE if accepted else REFUSED)
            target.mkdir(exist_ok=True)
            source = self.inbox / name
            if source.exists():
                shutil.move(str(source), str(target / name))

        await asyncio.to_thread(move)


class HttpTransport:
    def __init__(self, url: str, keep: Path, auth: tuple[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.keep = keep
        self.auth = auth

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=60, auth=self.auth)

    async def send(self, name: str, package: bytes) -> None:
        try:
            async with self._client() as http:
                response = await http.put(f"{self.url}/eingang/{name}", content=package)
        except httpx.HTTPError as exc:
            raise TransferUnavailable(f"Archiv {self.url}: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise TransferUnavailable(f"Archiv {self.url}: HTTP {response.status_code}")

    async def incoming(self) -> list[str]:
        try:
            async with self._client() as http:
                response = await http.get(f"{self.url}/ausgang/")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransferUnavailable(f"Archiv {self.url}: {type(exc).__name__}") from exc
        return [str(n) for n in response.json() if str(n).endswith(SUFFIX) and "/" not in str(n)]

    async def read(self, name: str) -> bytes:
        try:
            async with self._client() as http:
                response = await http.get(f"{self.url}/ausgang/{name}")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransferUnavailable(f"Archiv {self.url}: {type(exc).__name__}") from exc
        return response.content

    async def done(self, name: str, accepted: bool, package: bytes | None) -> None:
        if package is not None:
            await asyncio.to_thread(
                write_atomically, self.keep / (DONE if accepted else REFUSED), name, package
            )
        try:
            async with self._client() as http:
                await http.delete(f"{self.url}/ausgang/{name}")
        except httpx.HTTPError as exc:
            raise TransferUnavailable(f"Archiv {self.url}: {type(exc).__name__}") from exc
