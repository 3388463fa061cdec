"""NATS users of the embedded platform, derived from the contracts.

``rathaus`` (the modules) may do everything. ``integrator`` may only subscribe, and
receives events of data class public and internal: every subject of a personal
contract, the request/reply subjects and the dead letters (which hold whole
messages) are denied, so a subscription to ``rathaus.>`` never delivers them.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from rathaus.contracts.catalogue import contracts
from rathaus.contracts.envelope import DataClass
from rathaus.platform.kernel.bus import DEADLETTER_PREFIX, REPLAY_PREFIX

PLATFORM_USER = "rathaus"
INTEGRATOR_USER = "integrator"


def credentials(data_dir: Path) -> dict[str, str]:
    """User -> password, created once per data dir (mode 0600)."""
    path = data_dir / "nats" / "users.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({PLATFORM_USER: secrets.token_urlsafe(24), INTEGRATOR_USER: secrets.token_urlsafe(18)})
        )
        path.chmod(0o600)
    data: dict[str, str] = json.loads(path.read_text())
    return data


def denied_for_integrators() -> list[str]:
    personal = [c.subject for c in contracts() if c.data_class is DataClass.PERSONAL]
    return [*personal, "rathaus.rpc.>", f"{DEADLETTER_PREFIX}.>", f"{REPLAY_PREFIX}.>"]


def write_config(data_dir: Path, *, sync_interval: str | None = None) -> Path:
    """The nats-server configuration with both users and one user per NATS integrator
    (``rathaus integrators add``); rewritten at every start and by ``rathaus integrators``,
    which then asks the running server to reload it. The nodes of a cluster include it
    and say their own names and addresses after it. ``sync_interval``: JetStream's fsync
    interval (nats.sync_interval, "" for the server's default); None keeps what the file
    said before, so a rewrite by ``rathaus integrators`` changes only the users."""
    from rathaus.platform.runtime.integrators import nats_users

    users = credentials(data_dir)
    path = data_dir / "nats" / "nats.conf"
    if sync_interval is None and path.exists():
        sync_interval = json.loads(path.read_text()).get("jetstream", {}).get("sync_interval")
    config: dict[str, Any] = {
        # what the command line (processes.nats_server) also says: a reload compares these
        "server_name": "rathaus",
        "authorization": {
            "users": [
                {"user": PLATFORM_USER, "password": users[PLATFORM_USER]},
                {
                    "user": INTEGRATOR_USER,
                    "password": users[INTEGRATOR_USER],
                    "permissions": {
                        "publish": {"deny": [">"]},
                        "subscribe": {"allow": ["rathaus.>"], "deny": denied_for_integrators()},
                    },
                },
                *nats_users(data_dir),
            ]
        },
    }
    if sync_interval:
        config["jetstream"] = {"sync_interval": sync_interval}
    temporary = path.with_suffix(".tmp")
    # 0600 from the start, and replaced in one step: a reload never reads half a file
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(config, indent=2))  # nats-server reads JSON as its config syntax
    temporary.replace(path)
    return path
