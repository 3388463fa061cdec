"""The embedded platform as an operator sees it: one command, every URL answers,
Ctrl-C stops it, a taken port is one clear line."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import nats
import pytest

from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import EmbeddedPlatform, RunningServer

pytestmark = pytest.mark.e2e


async def test_up_prints_urls_that_all_answer_and_stops_on_ctrl_c(
    embedded_platform: EmbeddedPlatform,
) -> None:
    printed = "".join(embedded_platform.output)
    banner = printed[printed.index("Rathaus läuft") :]  # what `rathaus up` prints, not library logs
    urls = re.findall(r"(https?://\S+)", banner)
    # the six of Rathaus, the test payment and identity providers, the Test-Archiv
    assert len(urls) == 9, printed
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as client:
        for url in urls:
            # a page that needs a login answers with the login page
            response = await client.get(url)
            assert response.status_code == 200, url
        health = (await client.get(f"{embedded_platform.base_url}/health")).json()
        asyncapi = (await client.get(f"{embedded_platform.base_url}/asyncapi.json")).json()
    assert health["ok"] is True
    assert set(health["components"]) == {
        "portal",
        "input",
        "eakte",
        "output",
        "broker",
        "opendata",
        "orchestration",
        "temporal",
        "payprovider",  # the test payment provider `rathaus up` runs when none is configured
        "idprovider",  # the test identity provider, likewise
        "archivpeer",  # the Test-Archiv, when no archive is configured
        "integratoren",  # durable integrator consumers and webhook deliveries
    }
    assert asyncapi["asyncapi"] == "3.0.0"
    # both cores: the E-Akte and the case workflows run in a second
    # process behind the same origin; their consumers are in the AsyncAPI document too
    assert {
        "portal_receives_eakte_case_opened_v1",
        "eakte_receives_portal_application_submitted_v2",
    } <= set(asyncapi["operations"]), sorted(asyncapi["operations"])[:20]
    assert embedded_platform.proc is not None
    second = [pid for pid, cmd in _children(embedded_platform.proc.pid) if "serve eakte,orchestration" in cmd]
    assert len(second) == 1, _children(embedded_platform.proc.pid)
    nats_url = re.search(r"(nats://\S+)", printed)
    assert nats_url is not None and nats_url.group(1) == embedded_platform.nats_url
    nc = await nats.connect(**embedded_platform.nats_credentials())
    assert nc.is_connected
    await nc.close()
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do: NATS requires a login
        await nats.connect(embedded_platform.nats_url, allow_reconnect=False, connect_timeout=2)
    assert embedded_platform.stop() == 0
    assert "Rathaus beendet." in "".join(embedded_platform.output)
    assert not Path(f"/proc/{second[0]}").exists()  # stopped with it, not left behind


def _children(pid: int) -> list[tuple[int, str]]:
    """The direct child processes of ``pid`` with their command lines."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            out.append((int(child), cmd))
    return out


def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    platform = EmbeddedPlatform(tmp_path / "rathaus")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", platform.web_port))
        blocker.listen()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "rathaus"), "up", "--data-dir", str(platform.data_dir)],
            env=platform.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"rathaus: port {platform.web_port} for the web server is already taken on 127.0.0.1; "
        "stop what uses it or choose another port in rathaus.toml"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_a_second_platform_on_the_same_data_dir_is_refused(embedded_platform: EmbeddedPlatform) -> None:
    second = EmbeddedPlatform(embedded_platform.data_dir)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rathaus"), "up", "--data-dir", str(second.data_dir)],
        env=second.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "another Rathaus is already running" in result.stderr


async def test_serve_runs_one_module_alone_against_configured_servers(
    tmp_path: Path, nats: RunningServer, temporal: RunningServer
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update(
        {
            "RATHAUS_NATS__URL": nats.url,
            "RATHAUS_TEMPORAL__ADDRESS": temporal.url,
            "RATHAUS_DATA_DIR": str(tmp_path / "eakte"),
            "RATHAUS_CONFIG": str(tmp_path / "none.toml"),
        }
    )
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "rathaus"), "serve", "opendata", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = f"rathaus opendata on http://127.0.0.1:{port}"
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if ready in line or len(lines) > 200:
                break
        assert ready in lines[-1], "".join(lines)
        async with httpx.AsyncClient(timeout=10) as client:
            health = (await client.get(f"http://127.0.0.1:{port}/health")).json()
            assert health["ok"] is True and set(health["components"]) == {"opendata", "temporal"}
            assert (await client.get(f"http://127.0.0.1:{port}/opendaten/")).status_code == 200
            assert (await client.get(f"http://127.0.0.1:{port}/arbeitsplatz/")).status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
