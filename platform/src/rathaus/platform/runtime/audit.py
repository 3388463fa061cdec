"""``rathaus audit verify``: the E-Akte checks its audit trail's hash chain and every stored
document's bytes against the recorded SHA-256, and names the first broken link."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, TextIO

from rathaus.platform.kernel import Settings
from rathaus.platform.runtime.commands import _run_module_command


def add_parser(sub: Any) -> None:
    audit = sub.add_parser("audit", help="verify the E-Akte's audit chain and stored documents")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("--data-dir")


def run(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ok, report = asyncio.run(_run_module_command(settings, "eakte", "verify_records"))
    print(report, file=out if ok else err)
    return 0 if ok else 1
