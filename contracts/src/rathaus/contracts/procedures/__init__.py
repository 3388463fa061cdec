"""Services as data: the built-in procedures of the demo city (one TOML file per service
version, its Bescheid templates beside it), code lists, the catalogue, units and the file
plan, under ``leistungen/``. ``rathaus.platform.kernel.procedures`` reads, checks and
interprets them; docs/services.md describes the format."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "leistungen"
