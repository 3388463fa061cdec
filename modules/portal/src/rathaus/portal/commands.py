"""What the `rathaus users` command asks of the portal."""

from __future__ import annotations

from rathaus.platform.kernel import Kernel
from rathaus.portal.handlers import Portal


async def add_citizen(
    kernel: Kernel,
    *,
    email: str,
    password: str,
    given_name: str,
    family_name: str,
    birth_date: str,
    assurance_level: str = "niedrig",
) -> str:
    return await Portal(kernel).register(
        email=email,
        password=password,
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        assurance_level=assurance_level,
    )


async def verify_identity(kernel: Kernel, *, email: str, assurance_level: str = "substantiell") -> None:
    """The Bürgerbüro has checked the citizen's identity document in person."""
    await Portal(kernel).verify_identity(email, assurance_level)
