"""A demo citizen for a fresh demo city: Erika Mustermann, whose identity the Bürgerbüro has
checked, so that the register data of the demo registers can be used in her applications."""

from __future__ import annotations

import secrets

from rathaus.platform.kernel import Kernel
from rathaus.portal.handlers import Portal

DEMO_EMAIL = "erika.mustermann@example.org"


async def seed(kernel: Kernel, portal: Portal) -> None:
    """Create the demo account once and note its password beside the staff's demo accounts."""
    password = secrets.token_urlsafe(12)
    try:
        await portal.register(
            email=DEMO_EMAIL,
            password=password,
            given_name="Erika",
            family_name="Mustermann",
            birth_date="1964-08-12",
            assurance_level="substantiell",
        )
    except ValueError:
        return  # already there
    accounts = kernel.settings.data_dir / "demo-zugaenge.txt"
    accounts.parent.mkdir(parents=True, exist_ok=True)
    with accounts.open("a", encoding="utf-8") as out:
        out.write(f"buergerin\t{DEMO_EMAIL}\t{password}\t\n")
    accounts.chmod(0o600)
