"""The watched intake folder (Eingangsordner): the scanner street drops letters here.

``<data_dir>/input/eingangsordner/`` is watched with watchfiles and, on every wake-up and
at least once a second, listed in full: so a file dropped while the platform was down,
or while the watcher was starting, is taken too. A file is taken once it is complete:
its size and modification time unchanged for a moment (a file renamed into place is
complete at once, and names like ``.x``, ``x.part``, ``x.tmp`` are never taken). After
the database commit it moves to ``verarbeitet/``; a file input management does not take
moves to ``fehler/`` with ``<name>.fehler.txt`` beside it saying why, in German.

Replicas of input management on one host watch the same folder: a replica takes a file
only under an exclusive ``flock`` on it, not waited for, and only while the name still
leads to the file it locked; the others pass it over, and find it gone afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path

from watchfiles import awatch

from rathaus.input.domain import UnreadableFile, check_size
from rathaus.input.handlers import Input, failure

log = logging.getLogger("rathaus.input")
SETTLE_SECONDS = 0.8  # unchanged this long: the scanner has finished writing
EMPTY_SECONDS = 5.0  # an empty file may be one about to be written
INCOMPLETE = (".part", ".partial", ".tmp", ".crdownload", ".download", "~")


def unique_target(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists() or target.with_name(target.name + ".fehler.txt").exists():
        n += 1
        target = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
    return target


class IntakeFolder:
    def __init__(self, handlers: Input, data_dir: Path) -> None:
        self.handlers = handlers
        self.inbox = data_dir / "input" / "eingangsordner"
        self.done = self.inbox / "verarbeitet"
        self.failed = self.inbox / "fehler"
        self._seen: dict[str, tuple[tuple[int, int], float]] = {}
        self._retry: dict[str, tuple[int, float]] = {}  # name -> (failures, not before)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.taken = 0
        self.refused = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        for folder in (self.inbox, self.done, self.failed):
            folder.mkdir(parents=True, exist_ok=True)
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name="input-eingangsordner")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def running(self) -> bool:
        return self._task is not None and not self._task.done() and self.inbox.is_dir()

    async def run(self) -> None:
        force_polling: bool | None = None
        while not self._stop.is_set():
            try:
                await self.sweep()
                async for _changes in awatch(
                    self.inbox,
                    watch_filter=None,
                    stop_event=self._stop,
                    rust_timeout=1000,
                    yield_on_timeout=True,
                    recursive=False,
                    force_polling=force_polling,
                ):
                    await self.sweep()
            except Exception as exc:
                # e.g. no inotify watches left: poll instead, and keep going
                log.error("watching the intake folder failed (%s); polling from now on", failure(exc))
                force_polling = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=1)

    # -- sweeping -------------------------------------------------------------------------------

    def _candidates(self) -> dict[str, tuple[int, int]]:
        out = {}
        for path in self.inbox.iterdir():
            name = path.name
            if name.startswith((".", "~$")) or name.endswith(INCOMPLETE):
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                out[name] = (st.st_size, st.st_mtime_ns)
        return out

    async def sweep(self) -> int:
        """Take every complete file lying in the folder; returns how many were handled."""
        clock = time.monotonic()
        current = await asyncio.to_thread(self._candidates)
        for gone in set(self._seen) - set(current):
            del self._seen[gone]
        handled = 0
        for name, sig in sorted(current.items()):
            seen = self._seen.get(name)
            if seen is None or seen[0] != sig:
                self._seen[name] = (sig, clock)
                continue
            waited = clock - seen[1]
            if waited < SETTLE_SECONDS or (sig[0] == 0 and waited < EMPTY_SECONDS):
                continue
            failures, not_before = self._retry.get(name, (0, 0.0))
            if clock < not_before:
                continue
            try:
                if not await self._take(self.inbox / name, sig[0]):
                    continue  # another replica takes it
            except Exception as exc:  # e.g. the database is busy: try again, less and less often
                failures += 1
                self._retry[name] = (failures, clock + min(2.0**failures, 60.0))
                log.warning("intake file could not be taken yet (%d): %s", failures, failure(exc))
                continue
            self._retry.pop(name, None)
            self._seen.pop(name, None)
            handled += 1
        return handled

    async def _take(self, path: Path, size: int) -> bool:
        """Take one file; False when another replica holds it (or has just moved it)."""
        fd = await asyncio.to_thread(self._claim, path)
        if fd is None:
            return False
        try:
            try:
                check_size(size)
                data = await asyncio.to_thread(self._read, fd)
                doc_id, new = await self.handlers.take_letter(
                    data, filename=path.name, source="eingangsordner"
                )
            except UnreadableFile as exc:
                target = await asyncio.to_thread(self._refuse, path, exc.message)
                self.refused += 1
                log.warning("intake file refused, moved to %s", target.parent.name)
                return True
            await asyncio.to_thread(self._move, path, self.done)
        finally:
            os.close(fd)  # releases the lock, after the file has left the folder
        self.taken += 1
        log.info("intake file taken as letter %s (%s)", doc_id, "new" if new else "already there")
        return True

    @staticmethod
    def _claim(path: Path) -> int | None:
        """The file opened and locked for this process alone, or None: locked by another
        replica, or moved away by one since it was listed (the name now leads elsewhere)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except (BlockingIOError, FileNotFoundError):
            pass
        os.close(fd)
        return None

    @staticmethod
    def _read(fd: int) -> bytes:
        with open(fd, "rb", closefd=False) as handle:
            return handle.read()

    @staticmethod
    def _move(path: Path, folder: Path) -> Path:
        target = unique_target(folder, path.name)
        path.replace(target)
        return target

    def _refuse(self, path: Path, reason: str) -> Path:
        target = self._move(path, self.failed)
        target.with_name(target.name + ".fehler.txt").write_text(
            f"Die Datei „{path.name}“ wurde nicht übernommen.\n\nGrund: {reason}\n\n"
            "Angenommen werden PDF-Dateien und Bilder (PNG, JPEG, TIFF). Bitte scannen Sie das "
            "Schriftstück neu und legen Sie die neue Datei in den Eingangsordner.\n",
            encoding="utf-8",
        )
        return target
