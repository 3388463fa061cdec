"""Services written as procedure files for a test (the open-data portal must publish a
dataset for each without any code knowing them), and a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
