"""The catalogue of every published contract version.

Importing this module imports every ``<producer>/v<N>.py`` file, which registers
its contracts; :func:`contracts` then lists them in a stable order.
"""

from __future__ import annotations

import importlib
import pkgutil

import rathaus.contracts as _package
from rathaus.contracts.envelope import REGISTRY, Contract, DataClass
from rathaus.contracts.rpc import RPCS, Rpc


def _load_all() -> None:
    for info in pkgutil.walk_packages(_package.__path__, prefix="rathaus.contracts."):
        leaf = info.name.rsplit(".", 1)[-1].removeprefix("rpc_")
        if leaf.startswith("v") and leaf[1:].isdigit():
            importlib.import_module(info.name)


def contracts() -> list[Contract]:
    """Every registered contract, ordered by name."""
    _load_all()
    return sorted(REGISTRY.values(), key=lambda c: c.name)


def rpcs() -> list[Rpc]:
    """Every registered request/reply contract, ordered by name."""
    _load_all()
    return sorted(RPCS.values(), key=lambda r: r.name)


def by_subject(subject: str) -> Contract:
    for meta in contracts():
        if meta.subject == subject:
            return meta
    raise KeyError(subject)


def producers() -> list[str]:
    """Modules that publish at least one contract: each gets a JetStream stream."""
    return sorted({c.producer for c in contracts()})


def readable_by_integrators() -> list[Contract]:
    """Contracts an integrator may subscribe to without a personal-data grant."""
    return [c for c in contracts() if c.data_class is not DataClass.PERSONAL]
