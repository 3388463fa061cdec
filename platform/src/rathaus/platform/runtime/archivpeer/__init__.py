"""The embedded Test-Archiv ("Test-Archiv – kein echtes Archiv"): the archive side of the
Aussonderung over xdomea 3.0.0 (0501–0507), as DIMAG or x-man would speak it, through the
transfer directory (and an HTTP endpoint). ``rathaus up`` runs it in a thread when no archive
is configured (``archive.outbox``/``inbox``/``url`` unset); ``rathaus archivpeer`` runs it
alone. What it received lives in SQLite under ``<data_dir>/archivpeer``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.archivpeer.app import MARK, create_app
from rathaus.platform.runtime.archivpeer.peer import ArchivePeer, PeerConfig
from rathaus.platform.runtime.standin import StandIn

__all__ = ["MARK", "ArchivePeer", "PeerConfig", "TestArchive", "peer_config"]


def peer_config(settings: Settings) -> PeerConfig:
    """The Test-Archiv on the configured archive's transfer directory (its defaults)."""
    archive = settings.archive
    outbox, inbox = archive.transfer(settings.data_dir.resolve())
    # the authority's outbox is the archive's inbox, and the other way round
    return PeerConfig(code=archive.code, name=f"{archive.name} (Test-Archiv)", inbox=outbox, outbox=inbox)


class TestArchive(StandIn):
    """The Test-Archiv on loopback: in a thread (``start``/``stop``) or in the foreground."""

    what = "the test archive"
    label = "Archiv (Test-Archiv)"
    mark = MARK

    def __init__(self, data_dir: Path, port: int, config: PeerConfig, poll_seconds: float = 1.0) -> None:
        super().__init__(port)
        self.peer = ArchivePeer(data_dir, config)
        self.poll_seconds = poll_seconds

    def app(self) -> Any:
        return create_app(self.peer, self.poll_seconds)

    def banner(self, out: TextIO) -> None:
        out.write(f"  Transferverzeichnis (Eingang) {self.peer.config.inbox}\n")
        out.write(f"  Transferverzeichnis (Ausgang) {self.peer.config.outbox}\n")
