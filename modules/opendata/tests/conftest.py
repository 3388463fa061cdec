"""Services written as procedure files for a test (the open-data portal must publish a
dataset for each without any code knowing them), and a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rathaus.platform.runtime.processes import free_port

WriteService = Callable[..., Path]


def service_toml(
    service_id: str,
    version: int,
    dataset: str,
    *,
    title: str = "",
    leika: str = "",
    tags: tuple[str, ...] = ("Test",),
    themes: tuple[str, ...] = ("GOVE",),
    granted_label: str = "Bewilligt",
    refused_label: str = "Abgelehnt",
    dataset_title: str = "",
) -> str:
    """The smallest valid procedure: one page with one field, templates in the file."""
    title = title or f"Leistung {service_id}"
    lines = [
        f'id = "{service_id}"',
        f"version = {version}",
        f'title = "{title}"',
        'summary = "Eine Leistung, die nur ein Test kennt."',
        'lebenslagen = ["Test"]',
        'unit = "KVR-III/12"',
        'aktenplan = "523.11"',
        *([f'leika = "{leika}"'] if leika else []),
        "",
        "[template_texts]",
        'granted = "<p>Bewilligt.</p>"',
        'refused = "<p>Abgelehnt.</p>"',
        "",
        "[open_data]",
        f'dataset = "{dataset}"',
        f'title = "{dataset_title or title + " nach Stadtbezirk und Monat"}"',
        f'summary = "Anträge und Bescheide der Leistung {service_id}."',
        "tags = [" + ", ".join(f'"{t}"' for t in tags) + "]",
        "themes = [" + ", ".join(f'"{t}"' for t in themes) + "]",
        f'granted_label = "{granted_label}"',
        f'refused_label = "{refused_label}"',
        "",
        "[[form]]",
        'name = "angaben"',
        'kind = "group"',
        'label = "Angaben"',
        "",
        "[[form]]",
        'name = "anliegen"',
        'parent = "angaben"',
        'label = "Anliegen"',
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_service(tmp_path: Path) -> WriteService:
    """``write_service(id, version, dataset, **open_data)`` writes ``<tmp>/leistungen/<id>/v<n>.toml``
    and returns the directory to name in ``settings.procedure_dirs``."""
    root = tmp_path / "leistungen"

    def write(service_id: str, version: int, dataset: str, **options: Any) -> Path:
        folder = root / service_id
        folder.mkdir(parents=True, exist_ok=True)
        text = service_toml(service_id, version, dataset, **options)
        (folder / f"v{version}.toml").write_text(text, encoding="utf-8")
        return root

    return write


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl, pg_isready = _binary("initdb"), _binary("pg_ctl"), _binary("pg_isready")
    if initdb is None or pg_ctl is None or pg_isready is None:
        pytest.skip("no PostgreSQL binaries on this machine")
    # PostgreSQL refuses to run as root: then the cluster belongs to the postgres user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="rathaus-pg-"))
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data / "db"), "-U", "rathaus", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    server = [*as_user, pg_ctl, "-D", str(data / "db"), "-l", str(data / "log"), "-w"]
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*server, "-o", options, "start"], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [pg_isready, "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
        ).returncode:
            assert time.monotonic() < deadline, (data / "log").read_text()
            time.sleep(0.1)  # polling the server's readiness, not waiting for a result
        yield f"postgresql+asyncpg://rathaus@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run([*server, "-m", "fast", "stop"], check=True, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
