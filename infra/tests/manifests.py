"""What the offline checks of infra/ share: paths, the Compose file, the rendered
Kubernetes overlay, and stand-ins for interpolated values."""

from __future__ import annotations

import copy
import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.tests.kustomize import render
from rathaus.platform.kernel.settings import COMPONENTS

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


def interpolate(value: str) -> str:
    """Compose's ${VAR:?…} and ${VAR:-default}, Kubernetes' $(VAR): a stand-in value."""
    value = re.sub(r"\$\{([A-Z_]+)(:[-?][^}]*)?\}", lambda m: f"x{m.group(1).lower()}", value)
    return re.sub(r"\$\(([A-Z_]+)\)", lambda m: f"x{m.group(1).lower()}", value)


def module_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if name in COMPONENTS}


def deployments() -> dict[str, dict[str, Any]]:
    return {
        r["metadata"]["name"].removeprefix("rathaus-"): r
        for r in rendered()
        if r["kind"] == "Deployment" and r["metadata"]["name"].startswith("rathaus-")
    }
