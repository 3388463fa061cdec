"""What the catalogue says about a dataset, whatever its tables: the home page, the CKAN
API and the DCAT-AP.de metadata list every dataset through an ``Entry``, and each file it
offers through a ``Download``. The per-service datasets (``datasets``, ``formats``) and the
payments dataset (``payments``, ``payment_formats``) each make their own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Download:
    """One distribution of a dataset: the exact bytes served at ``path``."""

    table: str  # fallzahlen | bearbeitungsdauer | zahlungen
    suffix: str
    format: str  # CKAN format and EU file-type code
    media_type: str
    title: str
    description: str
    data: bytes
    dataset_id: str
    heading: str = ""  # the table's title without the dataset's, for lists on a page

    @property
    def path(self) -> str:
        """Below the portal's prefix."""
        return f"/datasets/{self.dataset_id}/{self.table}.{self.suffix}"


@dataclass(frozen=True)
class Entry:
    """One dataset as the catalogue lists it."""

    id: str
    title: str
    summary: str
    notes: str  # the full description: what is counted, how, how it is protected
    tags: tuple[str, ...]
    themes: tuple[str, ...]  # codes of the EU data-theme vocabulary
    scope: str  # what the numbers are about, in words („Leistung „…““)
    extras: tuple[tuple[str, str], ...]  # CKAN extras beside the catalogue's own
    relation: str  # dct:relation (the service's LeiKa URN) or ""
    provenance: str  # how the numbers are protected (dct:provenance)
    created: str
    modified: str
    period: tuple[str, str] | None  # first and last day covered (ISO dates)
    downloads: tuple[Download, ...]
