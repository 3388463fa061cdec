"""``rathaus users …``: account administration, carried out by the module that owns
the accounts (citizens: portal; staff: E-Akte) on its own database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the modules' code is imported when a command runs, not for --help
    from rathaus.platform.kernel import ModuleApp, Settings


async def _run_module_command(settings: Settings, module: str, function: str, **kwargs: Any) -> Any:
    bootstrap = importlib.import_module(f"rathaus.{module}.bootstrap")
    commands = importlib.import_module(f"rathaus.{module}.commands")
    from rathaus.platform.kernel import Kernel

    kernel = Kernel(module, settings)
    app: ModuleApp = bootstrap.bootstrap(kernel)
    await kernel.db.migrate(app.migrations, app.metadata)
    try:
        return await getattr(commands, function)(kernel, **kwargs)
    finally:
        await kernel.db.dispose()


def add_parser(sub: Any) -> None:
    users = sub.add_parser("users", help="add citizens and staff, verify a citizen's identity")
    actions = users.add_subparsers(dest="action", required=True)
    citizen = actions.add_parser("add-citizen", help="create a citizen account (portal)")
    citizen.add_argument("--email", required=True)
    citizen.add_argument("--given-name", required=True)
    citizen.add_argument("--family-name", required=True)
    citizen.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    citizen.add_argument("--assurance", default="niedrig", choices=["niedrig", "substantiell", "hoch"])
    staff = actions.add_parser("add-staff", help="create a staff account (E-Akte)")
    staff.add_argument("--username", required=True)
    staff.add_argument("--name", required=True, help="display name")
    staff.add_argument("--role", required=True, choices=["sachbearbeitung", "leitung", "poststelle", "kasse"])
    staff.add_argument("--unit", required=True, help="organisational unit, e.g. KVR-III/12")
    verify = actions.add_parser("verify", help="record that the Bürgerbüro verified a citizen's identity")
    verify.add_argument("--email", required=True)
    verify.add_argument("--assurance", default="substantiell", choices=["substantiell", "hoch"])
    for p in (citizen, staff, verify):
        p.add_argument("--data-dir")
    eakte = sub.add_parser("eakte", help="maintenance of the E-Akte")
    eakte_actions = eakte.add_subparsers(dest="action", required=True)
    reindex = eakte_actions.add_parser(
        "reindex", help="build the search index anew from the E-Akte's store (with the module stopped)"
    )
    reindex.add_argument("--data-dir")
    for p in (citizen, staff):
        p.add_argument("--password", help="(asked for when not given)")


def run_eakte(settings: Settings, args: argparse.Namespace) -> str:
    """``rathaus eakte reindex``: the E-Akte rebuilds its search index from its own store."""
    return str(asyncio.run(_run_module_command(settings, "eakte", args.action)))


def run(settings: Settings, args: argparse.Namespace) -> str:
    if args.action in ("add-citizen", "add-staff") and not args.password:
        args.password = getpass.getpass("Passwort: ")
    if args.action == "add-citizen":
        account = asyncio.run(
            _run_module_command(
                settings,
                "portal",
                "add_citizen",
                email=args.email,
                password=args.password,
                given_name=args.given_name,
                family_name=args.family_name,
                birth_date=args.birth_date,
                assurance_level=args.assurance,
            )
        )
        return f"Konto {account} für {args.email} angelegt (Vertrauensniveau {args.assurance})."
    if args.action == "add-staff":
        staff_id = asyncio.run(
            _run_module_command(
                settings,
                "eakte",
                "add_staff",
                username=args.username,
                password=args.password,
                display_name=args.name,
                role=args.role,
                unit=args.unit,
            )
        )
        return f"Zugang {args.username} ({args.role}, {args.unit}) angelegt: {staff_id}."
    asyncio.run(
        _run_module_command(
            settings, "portal", "verify_identity", email=args.email, assurance_level=args.assurance
        )
    )
    return f"Identität von {args.email} geprüft: Vertrauensniveau {args.assurance}."
