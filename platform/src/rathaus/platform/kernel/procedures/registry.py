"""Every procedure version the platform knows, read once per process.

The built-in procedures ship in ``rathaus.contracts.procedures``; a city adds its own
directories with the setting ``procedure_dirs`` (``RATHAUS_PROCEDURE_DIRS``). A version
is immutable once a case uses it: every case carries its service's id, version and the
version's digest, and a module refuses a case whose version has changed since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rathaus.contracts.procedures import DATA as BUILTIN
from rathaus.platform.kernel.procedures.definition import Definition
from rathaus.platform.kernel.procedures.loader import ProcedureProblems, compile_all
from rathaus.platform.kernel.procedures.model import CatalogueEntry, Codelist, PlanEntry, Texts, Unit


class ProcedureChanged(RuntimeError):
    """A case's procedure version is missing or was changed after cases used it."""


@dataclass(frozen=True)
class Offer:
    """A service in the catalogue: online (a procedure) or not."""

    id: str
    title: str
    summary: str
    lebenslagen: tuple[str, ...]
    keywords: tuple[str, ...]
    leika: str
    unit: str
    where: str
    texts: Texts
    definition: Definition | None  # the current version, when it can be applied for online

    @property
    def online(self) -> bool:
        return self.definition is not None


class Procedures:
    def __init__(
        self,
        definitions: Iterable[Definition],
        catalogue: Iterable[CatalogueEntry] = (),
        units: dict[str, Unit] | None = None,
        plan: dict[str, PlanEntry] | None = None,
        codelists: dict[str, Codelist] | None = None,
        roots: tuple[Path, ...] = (),
    ) -> None:
        self._by_key = {(d.id, d.version): d for d in definitions}
        self._catalogue = list(catalogue)
        self.units = units or {}
        self.plan = plan or {}
        self.codelists = codelists or {}
        self.roots = roots

    @classmethod
    def load(cls, extra: Iterable[Path] = (), builtin: bool = True) -> Procedures:
        """Read and check every directory; raises ``ProcedureProblems`` naming each problem."""
        roots = ([BUILTIN] if builtin else []) + [Path(p) for p in extra]
        files, definitions, problems = compile_all(roots)
        if problems:
            raise ProcedureProblems(problems)
        return cls(
            definitions,
            [entry for _, entry in files.catalogue],
            files.units,
            files.plan,
            {k: v for k, (_, v) in files.codelists.items()},
            tuple(roots),
        )

    # -- versions ---------------------------------------------------------------------------

    def get(self, service_id: str, version: int) -> Definition:
        try:
            return self._by_key[(service_id, version)]
        except KeyError:
            raise KeyError(f"Das Verfahren {service_id} gibt es nicht in Version {version}.") from None

    def versions(self, service_id: str) -> list[Definition]:
        return sorted((d for (i, _), d in self._by_key.items() if i == service_id), key=lambda d: d.version)

    def current(self, service_id: str, today: date | None = None) -> Definition | None:
        """The newest version offered today, or None."""
        day = today or date.today()
        offered = [d for d in self.versions(service_id) if d.valid_on(day)]
        return offered[-1] if offered else None

    def online(self, today: date | None = None) -> list[Definition]:
        ids = sorted({i for i, _ in self._by_key})
        found = [self.current(i, today) for i in ids]
        return [d for d in found if d is not None]

    def all(self) -> list[Definition]:
        return [self._by_key[k] for k in sorted(self._by_key)]

    def pinned(self, service_id: str, version: int, digest: str) -> Definition:
        """The version a case was submitted with, unchanged; raises ``ProcedureChanged``."""
        try:
            definition = self.get(service_id, version)
        except KeyError as missing:
            raise ProcedureChanged(f"{missing.args[0]} Laufende Vorgänge verwenden diese Version.") from None
        if digest and definition.digest != digest:
            raise ProcedureChanged(
                f"Version {version} des Verfahrens {service_id} ({definition.path}) wurde geändert, "
                "nachdem Vorgänge sie verwendet haben. Eine veröffentlichte Version ist unveränderlich: "
                "stellen Sie die alte Fassung wieder her und legen Sie die Änderung als neue Version an."
            )
        return definition

    # -- the catalogue ---------------------------------------------------------------------------

    def catalogue(self, today: date | None = None) -> list[Offer]:
        """Every service: the online ones (current procedure versions), then the others."""
        offers = []
        online = {d.id: d for d in self.online(today)}
        for d in online.values():
            p = d.procedure
            offers.append(
                Offer(
                    p.id,
                    p.title,
                    p.summary,
                    tuple(p.lebenslagen),
                    tuple(p.keywords),
                    p.leika,
                    p.unit,
                    "",
                    p.texts,
                    d,
                )
            )
        for e in self._catalogue:
            if e.id in online:
                continue
            offers.append(
                Offer(
                    e.id,
                    e.title,
                    e.summary,
                    tuple(e.lebenslagen),
                    tuple(e.keywords),
                    e.leika,
                    e.unit,
                    e.where,
                    e.texts,
                    None,
                )
            )
        return offers

    def offer(self, service_id: str, today: date | None = None) -> Offer | None:
        return next((o for o in self.catalogue(today) if o.id == service_id), None)


_cache: dict[tuple[tuple[str, ...], bool], Procedures] = {}


def load_procedures(extra: Iterable[Path] = (), builtin: bool = True) -> Procedures:
    """The procedures of these directories, read once per process (modules share them)."""
    key = (tuple(str(Path(p).resolve()) for p in extra), builtin)
    if key not in _cache:
        _cache[key] = Procedures.load(extra, builtin)
    return _cache[key]


__all__ = ["Offer", "ProcedureChanged", "ProcedureProblems", "Procedures", "load_procedures"]
