"""``rathaus services check|list``: the procedure files as the platform reads them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from rathaus.platform.kernel.appointments import CalendarProblems, Calendars
from rathaus.platform.kernel.procedures import ProcedureProblems, Procedures
from rathaus.platform.kernel.settings import Settings


def run_services(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    dirs = [*settings.procedure_dirs, *(Path(d) for d in args.dir)]
    try:
        procedures = Procedures.load(dirs, settings.builtin_procedures)
    except ProcedureProblems as problems:
        err.write(f"{len(problems.problems)} Fehler in den Verfahrensdateien:\n")
        for problem in problems.problems:
            err.write(f"  {problem}\n")
        return 1
    try:
        calendars = Calendars.load(procedures, dirs, settings.builtin_procedures)
    except CalendarProblems as problems:
        err.write(f"{len(problems.problems)} Fehler in den Terminkalendern (standorte.toml):\n")
        for problem in problems.problems:
            err.write(f"  {problem}\n")
        return 1
    if args.action == "check":
        versions = procedures.all()
        out.write(
            f"Verfahrensdateien in Ordnung: {len({d.id for d in versions})} Leistungen online "
            f"({len(versions)} Versionen), {len(procedures.catalogue())} im Katalog, "
            f"{len(procedures.codelists)} Codelisten, {len(calendars.locations)} Bürgerbüros mit Terminen.\n"
        )
        return 0
    for d in procedures.all():
        current = procedures.current(d.id)
        mark = "aktuell" if current is not None and current.version == d.version else ""
        out.write(f"{d.id:28} v{d.version:<3} {d.digest[:12]}  {mark:8} {d.path}\n")
    return 0
