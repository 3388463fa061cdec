"""infra/k8s, checked offline: the production overlay rendered without kustomize
(infra/tests/kustomize.py) and validated strictly with kubernetes-validate (the
CloudNativePG kinds, which it has no schema for, skipped by name), and what no schema
knows: settings, probes on /health, replicas, budgets, routes, Secrets, Temporal's store."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.tests.kustomize import Unsupported, render
from infra.tests.manifests import (
    BIN,
    CRDS,
    INFRA,
    KUBERNETES,
    ROOT,
    compose,
    deployments,
    interpolate,
    rendered,
    run,
)
from rathaus.platform.kernel.settings import COMPONENTS, MODULE_NAMES
from rathaus.platform.runtime.platform import module_prefix
from rathaus.platform.testing import settings_from_env


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
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        names |= {v["secret"]["secretName"] for v in volumes if "secret" in v}
    cluster = next(r for r in rendered() if r["kind"] == "Cluster")
    names.add(cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"])
    assert not [r for r in rendered() if r["kind"] == "Secret"]
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    assert {"rathaus-siegel", "rathaus-portal-saml", "rathaus-s3", "rathaus-postgres-app"} <= names
    for name in names:
        assert f"kubectl -n rathaus create secret generic {name} " in readme, name


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


def test_the_keys_every_replica_shares_come_from_secrets_under_the_names_the_code_reads(
    tmp_path: Path,
) -> None:
    """The seal (output) and the SAML key (portal) are made in the data dir when missing: on
    an emptyDir that would be a new key per pod. Each is mounted from a Secret at the path,
    and under the file names, the code reads."""
    from rathaus.output.render import Seal
    from rathaus.portal.handlers.identity_saml import sp_key

    Seal(tmp_path / "output" / "siegel")
    sp_key(tmp_path)
    expected = {
        "output": ("output/siegel", "rathaus-siegel"),
        "portal": ("portal-saml", "rathaus-portal-saml"),
    }
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    for module, (folder, secret) in expected.items():
        files = sorted(p.name for p in (tmp_path / folder).iterdir())
        pod = deployments()[module]["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == secret]
        assert sorted(item["path"] for item in volume["secret"]["items"]) == files
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
        assert mount["mountPath"] == f"/var/lib/rathaus/{folder}" and mount["readOnly"]
        (command,) = [line for line in readme.splitlines() if f"create secret generic {secret} " in line]
        assert all(f"--from-file={f}" in command.split() for f in files), command
