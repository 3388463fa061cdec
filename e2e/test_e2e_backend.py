"""The switch between the e2e backends, and the configuration of the containerised one,
checked without a Docker engine: the settings the Rathaus container gets are ones Settings
reads, its commands are real `rathaus` commands on the ports the URLs name, the NATS
users are the ones the tests connect as, and without an engine the suites that would run
in containers are skipped, saying why, while the others keep their local processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e import city
from e2e.containers import BACKEND_ENV, DATA, ContainerPlan, ContainerPlatform, backend, docker_problem
from rathaus.platform.cli import main
from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.payprovider import TestPaymentProvider
from rathaus.platform.testing import settings_from_env


def test_the_default_backend_is_local_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert backend() == "processes"
    monkeypatch.setenv(BACKEND_ENV, "containers")
    assert backend() == "containers"
    monkeypatch.setenv(BACKEND_ENV, "kubernetes")
    with pytest.raises(ValueError, match="processes, containers"):
        backend()


class Recorded:
    """Stands in for EmbeddedPlatform: records that it was chosen, starts nothing."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.deadline_scale = 1.0
        self.extra_env: dict[str, str] = {}
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


def test_without_an_engine_only_the_containerised_suites_are_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv(BACKEND_ENV, "containers")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no engine, wherever this runs
    problem = docker_problem()
    assert problem
    with pytest.raises(pytest.skip.Exception, match="no Docker engine can be reached") as skipped:
        next(city.started(tmp_path_factory, containers=True))
    assert problem in str(skipped.value)
    # a suite that does not run in containers keeps its local `rathaus up`
    monkeypatch.setattr(city, "EmbeddedPlatform", Recorded)
    suite = city.started(tmp_path_factory, deadline_scale=0.5)
    platform: Any = next(suite)
    assert isinstance(platform, Recorded) and platform.started and platform.deadline_scale == 0.5
    suite.close()
    assert platform.stopped
    # and so does every suite without RATHAUS_E2E_BACKEND
    monkeypatch.delenv(BACKEND_ENV)
    suite = city.started(tmp_path_factory, containers=True)
    assert isinstance(next(suite), Recorded)
    suite.close()


def test_the_rathaus_container_gets_settings_it_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = ContainerPlan(tmp_path / "rathaus", deadline_scale=0.25)
    plan.data_dir.mkdir()
    settings = settings_from_env(plan.rathaus_env(), monkeypatch, tmp_path / "none.toml")
    users = natsauth.credentials(plan.data_dir)
    assert str(settings.data_dir) == DATA
    assert settings.nats.servers() == ["nats://nats:4222"]
    assert (settings.nats.user, settings.nats.password) == ("rathaus", users["rathaus"])
    assert settings.temporal.address == "temporal:7233"
    for module in MODULE_NAMES:
        assert settings.database_url(module).endswith(f"@postgres:5432/{module}")
        assert settings.database_url(module).startswith("postgresql+asyncpg://rathaus:")
    assert settings.web.host == "0.0.0.0" and settings.web.port == plan.web_port
    assert settings.web.public_url == plan.base_url == f"http://127.0.0.1:{plan.web_port}"
    # no payment URL: the kernel reaches the test provider on the shared loopback at this port
    assert settings.payment.url is None and settings.payment.port == plan.payment_port
    assert (plan.data_dir / "payprovider" / "credentials.json").exists()
    assert settings.deadline_scale == 0.25 and settings.secret_key


def test_the_containers_run_real_commands_on_the_ports_the_urls_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = ContainerPlan(tmp_path)
    serve = plan.rathaus_command()
    assert serve[0] == "serve" and serve[1].split(",") == list(COMPONENTS)
    assert serve[serve.index("--port") + 1] == str(plan.web_port)
    pay = plan.payprovider_command()
    assert (
        pay[pay.index("--port") + 1] == str(plan.payment_port) == plan.rathaus_env()["RATHAUS_PAYMENT__PORT"]
    )
    assert pay[pay.index("--data-dir") + 1] == DATA and pay[pay.index("--host") + 1] == "0.0.0.0"
    for command in (serve, pay):  # every option is one the real CLI knows
        with pytest.raises(SystemExit) as exit_code:
            main([command[0], "--help"])
        assert exit_code.value.code == 0
        usage = capsys.readouterr().out
        for option in (arg for arg in command if arg.startswith("--")):
            assert option in usage, (command[0], option)
    assert plan.temporal_command()[:2] == ["server", "start-dev"] and "7233" in plan.temporal_command()


def test_the_test_provider_listens_where_it_is_told(tmp_path: Path) -> None:
    provider = TestPaymentProvider(tmp_path, 8091, [("rathaus-demo", "gebuehren")])
    assert provider._make_server().config.host == "127.0.0.1"  # `rathaus up`: the loopback only
    provider.host = "0.0.0.0"
    assert provider._make_server().config.host == "0.0.0.0"
    assert provider.base_url == "http://127.0.0.1:8091"  # the URL it hands out stays the same


def test_nats_knows_the_users_the_tests_connect_as(tmp_path: Path) -> None:
    platform = ContainerPlatform(tmp_path / "rathaus")
    platform.nats_url = "nats://localhost:49222"  # as start() sets it from the mapped port
    config = json.loads(platform.plan.nats_config().read_text())
    users = {u["user"]: u for u in config["authorization"]["users"]}
    for user in ("rathaus", "integrator"):
        credentials = platform.nats_credentials(user)
        assert credentials["servers"] == "nats://localhost:49222"
        assert users[user]["password"] == credentials["password"]
    assert users["integrator"]["permissions"]["subscribe"]["deny"] == natsauth.denied_for_integrators()
    assert "--config" in platform.plan.nats_command() and "--jetstream" in platform.plan.nats_command()


@pytest.mark.e2e
async def test_the_containers_configuration_carries_a_case_as_local_processes(
    postgres_url: str, tmp_path: Path
) -> None:
    """What the containers run, rehearsed without an engine: the same commands and the same
    environment (nats-server with the plan's options and users, the Temporal dev server,
    PostgreSQL with infra/postgres/init-databases.sql, the payment provider on all
    interfaces, `rathaus serve` with every module and --seed-demo), only the containers'
    host names and data dir replaced by local ones. A Hundesteuer with its fee paid on the
    provider's page goes from the JSON API to its Bescheid in the Postkorb."""
    import asyncpg
    import httpx
    from sqlalchemy.engine import make_url

    from e2e.city import City
    from e2e.test_services import EXPECTED, carry
    from rathaus.platform.runtime.processes import find_binary, free_port
    from rathaus.platform.testing import eventually

    data = tmp_path / "rathaus"
    data.mkdir()
    plan = ContainerPlan(data)
    pg = make_url(postgres_url)
    connection = await asyncpg.connect(host=pg.host, port=pg.port, user=pg.username, database=pg.database)
    try:
        sql = (Path(__file__).parents[1] / "infra/postgres/init-databases.sql").read_text(encoding="utf-8")
        for statement in (s.strip() for s in sql.split(";")):
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
            if body.strip():
                await connection.execute(body)
    finally:
        await connection.close()
    nats_port, temporal_port = free_port(), free_port()
    local = {
        "/data": str(tmp_path / "nats-store"),
        "4222": str(nats_port),
        "/etc/nats/nats.conf": str(plan.nats_config()),
        "7233": str(temporal_port),
        "0.0.0.0": "127.0.0.1",
        DATA: str(data),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    for key, value in plan.rathaus_env().items():
        value = value.replace(DATA, str(data)).replace("nats://nats:4222", f"nats://127.0.0.1:{nats_port}")
        value = value.replace("temporal:7233", f"127.0.0.1:{temporal_port}")
        env[key] = value.replace("@postgres:5432/", f"@{pg.host}:{pg.port}/")
    env["RATHAUS_WEB__HOST"] = "127.0.0.1"
    rathaus = str(Path(sys.executable).parent / "rathaus")
    commands = [
        ([find_binary("nats-server"), *plan.nats_command()], None),
        ([find_binary("temporal"), *plan.temporal_command()], None),
        ([rathaus, *plan.payprovider_command()], None),
        ([rathaus, *plan.rathaus_command()], env),
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command, environment in commands:
            # the payment provider keeps 0.0.0.0 (what the containers use); Temporal's --ip is local
            args = [a if a == "0.0.0.0" and "payprovider" in command else local.get(a, a) for a in command]
            log = (tmp_path / f"{Path(args[0]).name}-{len(processes)}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
                )
            )

        async def healthy() -> bool:
            assert all(p.poll() is None for p in processes), sorted(tmp_path.glob("*.log"))
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    return (await http.get(f"{plan.base_url}/health")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(healthy, timeout=240, interval=0.5)
        platform: Any = ContainerPlatform(data)
        platform.plan = plan
        platform.nats_url = f"nats://127.0.0.1:{nats_port}"
        async with City(platform) as c:
            text, aktenzeichen = await carry(c, "hundesteuer")
        assert all(word in text for word in EXPECTED["hundesteuer"][0]), text[:2000]
        assert aktenzeichen in text
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
