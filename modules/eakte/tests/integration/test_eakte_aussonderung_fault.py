"""Fault test: the E-Akte runs in a process of its own and is killed (SIGKILL) after it
handed the archivable file over (0503) and before the archive's import confirmation (0506)
arrived. Nothing is destroyed before the confirmation — not while the process is dead
and the 0506 waits in the transfer directory either; after a restart the exchange closes:
the archived file is ausgesondert, the declined one destroyed with its deletion log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from modules.eakte.tests.conftest import person
from modules.eakte.tests.integration.aussonderung_helpers import MITZEICHNUNG, NOW, validate_all
from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.platform.v1 import AussonderungDue
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.settings import ArchiveSettings
from rathaus.platform.runtime.archivpeer import TestArchive, peer_config
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import ModuleDatabases, eventually

SCRIPT = Path(__file__).with_name("aussonderung_process.py")


class EAkteProcess:
    """The E-Akte in a child process (started, SIGKILLed, started again). Its output goes
    to a file, never to a pipe nobody reads once it runs: a full pipe would block its
    logging, and with it the module."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = settings.data_dir / "eakte-process.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        env["RATHAUS_TEST_SETTINGS"] = self.settings.model_dump_json()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(SCRIPT)],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            printed = self.log_path.read_text(errors="replace")[offset:]
            if "bereit\n" in printed:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)  # polling the child's log for its start line, not waiting out a delay
        tail = "\n".join(self.log_path.read_text(errors="replace")[offset:].splitlines()[-40:])
        raise AssertionError("the E-Akte process did not start:\n" + tail)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def fault_settings(settings: Settings, procedure_dir: Path) -> Settings:
    chosen = settings.model_copy(update={"procedure_dirs": [procedure_dir]})
    chosen.archive = ArchiveSettings(poll_seconds=0.1)
    return chosen


@pytest.fixture
def eakte_process(fault_settings: Settings) -> Iterator[EAkteProcess]:
    process = EAkteProcess(fault_settings)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        # shown when the test failed: what the E-Akte process printed
        print(
            "--- E-Akte process ---\n"
            + "\n".join(process.log_path.read_text(errors="replace").splitlines()[-60:])
        )


async def query(settings: Settings, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return await ModuleDatabases(settings.data_dir, settings.postgres).rows("eakte", sql, args)


async def write(settings: Settings, sql: str, *args: Any) -> None:
    await ModuleDatabases(settings.data_dir, settings.postgres).execute("eakte", sql, args)


async def test_a_kill_between_0503_and_0506_destroys_nothing_before_the_confirmation(
    fault_settings: Settings, eakte_process: EAkteProcess
) -> None:
    settings = fault_settings
    archive = TestArchive(settings.data_dir, free_port(), peer_config(settings), poll_seconds=0.1)
    archive.start()
    archive.peer.set_controls({"halten": True})  # the 0506 waits until the platform is dead
    kernels = [Kernel(name, settings) for name in ("portal", "input", "platform")]
    for kernel in kernels:
        await kernel.start(ModuleApp())
    portal, input_, platform = kernels
    try:
        cases: dict[str, str] = {}
        for vorschlag in ("A", "V"):
            case_id = f"fault-{vorschlag}-{datetime.now(UTC).timestamp()}"
            definition = portal.procedures.get("test-mitzeichnung", 1)
            async with portal.transaction() as uow:
                await uow.emit(
                    ApplicationSubmitted(
                        case_id=case_id,
                        service_id="test-mitzeichnung",
                        service_version=1,
                        procedure_digest=definition.digest,
                        applicant=person(),
                        data=MITZEICHNUNG,
                        submitted_at=NOW,
                    ),
                    subject=case_id,
                )
            blob = await input_.blobs.put(
                "input", f"%PDF-1.7 {case_id}".encode(), media_type="application/pdf", filename="a.pdf"
            )
            async with input_.transaction() as uow:
                await uow.emit(
                    DocumentRouted(
                        document_id=f"doc-{vorschlag}",
                        case_id=case_id,
                        unit="",
                        document_type="antrag",
                        title="Antrag",
                        medium="online",
                        source="portal",
                        blob=blob,
                        text="Antrag",
                        received_at=NOW,
                    ),
                    subject=case_id,
                )
            cases[vorschlag] = case_id

        async def filed() -> bool:
            return len(await query(settings, "SELECT 1 FROM documents WHERE filed_at IS NOT NULL")) == 2

        await eventually(filed, timeout=60)
        for vorschlag, case_id in cases.items():
            await write(
                settings,
                "UPDATE vorgaenge SET lifecycle='zda', zda_at='2010-01-04', bewertungsvorschlag=?, "
                "aufbewahrungsende='2020-12-31' WHERE case_id=?",
                vorschlag,
                case_id,
            )
        today = datetime.now(UTC).date().isoformat()
        async with platform.transaction() as uow:
            await uow.emit(AussonderungDue(day=today, trigger="test"), subject="aussonderung")

        async def handed_over() -> bool:
            return len(archive.peer.state()["uebernommen"]) == 1

        await eventually(handed_over, timeout=60)
        assert await query(settings, "SELECT state FROM aussonderungen") == [("uebergeben",)]

        async def untouched() -> None:
            lifecycles = dict(await query(settings, "SELECT case_id, lifecycle FROM vorgaenge"))
            assert lifecycles == {cases["A"]: "zda", cases["V"]: "zda"}
            assert len(await query(settings, "SELECT 1 FROM documents")) == 2
            assert await query(settings, "SELECT COUNT(*) FROM loeschprotokoll") == [(0,)]

        await untouched()
        eakte_process.kill()  # the power cut, after 0503 and before 0506

        archive.peer.set_controls({"halten": False})  # the archive confirms while the E-Akte is dead
        inbox = settings.data_dir / "archiv" / "stadtarchiv" / "vom_archiv"

        async def confirmation_waits() -> bool:
            return any(p.name.endswith(".0506.xdomea") for p in inbox.iterdir())

        await eventually(confirmation_waits, timeout=30)
        await untouched()  # nothing happens while nobody applies the confirmation

        eakte_process.start()

        async def closed() -> bool:
            return await query(settings, "SELECT state FROM aussonderungen") == [("abgeschlossen",)]

        await eventually(closed, timeout=60)
        lifecycles = dict(await query(settings, "SELECT case_id, lifecycle FROM vorgaenge"))
        assert lifecycles == {cases["A"]: "ausgesondert", cases["V"]: "vernichtet"}
        assert await query(settings, "SELECT 1 FROM documents") == []
        log = await query(
            settings, "SELECT case_id, ergebnis, entscheidung FROM loeschprotokoll ORDER BY seq"
        )
        assert [(c, e) for c, e, _ in log] == [(cases["A"], "ausgesondert"), (cases["V"], "vernichtet")]
        assert "0506" in log[1][2]
        assert [d["aktenzeichen"] for d in archive.peer.state()["uebernommen"]] == [
            r[0]
            for r in await query(settings, "SELECT aktenzeichen FROM vorgaenge WHERE case_id=?", cases["A"])
        ]
        counts = validate_all(settings.data_dir / "archiv")
        assert counts["0503"] == 1 and counts["0506"] == 1 and counts["0501"] == 1
    finally:
        for kernel in reversed(kernels):
            await kernel.stop(ModuleApp())
        archive.stop()
        archive.peer.close()
