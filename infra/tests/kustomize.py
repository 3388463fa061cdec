"""Render a kustomization without kustomize (not installed where the tests run): the
resources it lists, recursively, with ``namespace`` and ``images`` applied. Anything else
in a kustomization.yaml (patches, generators, …) is refused, so the manifests stay within
what this renderer and ``kubectl apply -k`` agree on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class Unsupported(Exception):
    """A kustomization uses a feature this renderer does not implement."""


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources ``kubectl kustomize directory`` would print, in order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise Unsupported(f"{directory}: {', '.join(sorted(unknown))}")
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources += render(path)
        else:
            resources += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    namespace = kustomization.get("namespace")
    for resource in resources:
        if namespace and resource["kind"] not in CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = namespace
        for image in kustomization.get("images", []):
            _set_image(resource, image)
    return resources


def _set_image(resource: dict[str, Any], image: dict[str, str]) -> None:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name = container["image"].split(":")[0]
        if name == image["name"]:
            container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
