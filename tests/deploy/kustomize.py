"""The subset of kustomize that k8s/ uses, so the manifests render offline without binaries.

Supported kustomization fields: resources (files, possibly multi-document, and folders with
their own kustomization), namespace, replicas, images, and patches: strategic merge patches
by path (several documents per file) or inline, where `$patch: delete` removes a resource,
and inline JSON 6902 patches with a target (replace/add/remove). Anything else fails loudly,
so a new kustomize feature in k8s/ cannot be silently ignored. tests/deploy/test_k8s.py
compares the output with `kubectl kustomize` when kubectl is installed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "replicas", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "StorageClass", "PersistentVolume", "PriorityClass"}
# built-in kinds get strategic-merge semantics (lists merged by key); custom resources get
# JSON merge semantics (lists replaced), as kustomize does without their OpenAPI schema
BUILTIN_API_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2",
                      "networking.k8s.io/v1"}
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name",
              "volumes": "name", "volumeMounts": "mountPath", "ports": "containerPort",
              "imagePullSecrets": "name"}
REPLICAS_KINDS = {"Deployment", "StatefulSet", "ReplicaSet"}


class KustomizeError(ValueError):
    pass


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def key(resource: dict[str, Any]) -> tuple[str, str, str]:
    return resource["kind"], resource["metadata"].get("namespace", ""), resource["metadata"]["name"]


def render(folder: Path) -> list[dict[str, Any]]:
    """Resources of the kustomization in `folder`, transformed as kustomize would."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{folder}: unsupported kustomization fields {sorted(unknown)}")
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (folder / entry).resolve()
        resources += render(target) if target.is_dir() else load_documents(target)
    seen: set[tuple[str, str, str]] = set()
    for resource in resources:
        if key(resource) in seen:
            raise KustomizeError(f"{folder}: duplicate resource {key(resource)}")
        seen.add(key(resource))
    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace
    for patch in kustomization.get("patches", []):
        _apply_patch(folder, patch, resources)
    for entry in kustomization.get("replicas", []):
        matched = [r for r in resources
                   if r["kind"] in REPLICAS_KINDS and r["metadata"]["name"] == entry["name"]]
        if not matched:
            raise KustomizeError(f"{folder}: replicas for unknown workload {entry['name']}")
        for resource in matched:
            resource["spec"]["replicas"] = entry["count"]
    for image in kustomization.get("images", []):
        _set_image(resources, image)
    return resources


def _apply_patch(folder: Path, patch: dict[str, Any], resources: list[dict[str, Any]]) -> None:
    if set(patch) in ({"path"}, {"patch"}):
        docs = load_documents(folder / patch["path"]) if "path" in patch \
            else [yaml.safe_load(patch["patch"])]
        for doc in docs:
            target = _find(resources, doc["kind"], doc["metadata"]["name"], folder)
            if doc.get("$patch") == "delete":
                resources.remove(target)
                continue
            builtin = target["apiVersion"] in BUILTIN_API_GROUPS
            merged = _merge(target, doc, builtin)
            target.clear()
            target.update(merged)
    elif set(patch) == {"target", "patch"}:
        target = _find(resources, patch["target"]["kind"], patch["target"]["name"], folder)
        for op in yaml.safe_load(patch["patch"]):
            _json_patch(target, op)
    else:
        raise KustomizeError(f"{folder}: unsupported patch form {sorted(patch)}")


def _find(resources: list[dict[str, Any]], kind: str, name: str, folder: Path) -> dict[str, Any]:
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise KustomizeError(f"{folder}: patch target {kind}/{name} not found")


def _merge(base: Any, patch: Any, builtin: bool, field: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for name, value in patch.items():
            if value is None:
                out.pop(name, None)
            elif name in out:
                out[name] = _merge(out[name], value, builtin, name)
            else:
                out[name] = copy.deepcopy(value)
        return out
    merge_key = MERGE_KEYS.get(field) if builtin else None
    if isinstance(base, list) and isinstance(patch, list) and merge_key:
        out = copy.deepcopy(base)
        for item in patch:
            for i, existing in enumerate(out):
                if existing.get(merge_key) == item.get(merge_key):
                    out[i] = _merge(existing, item, builtin)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _json_patch(resource: dict[str, Any], op: dict[str, Any]) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    parent: Any = resource
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if op["op"] in {"replace", "add"}:
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            else:
                parent[index] = copy.deepcopy(op["value"])
        else:
            if op["op"] == "replace" and last not in parent:
                raise KustomizeError(f"replace of missing path {op['path']}")
            parent[last] = copy.deepcopy(op["value"])
    elif op["op"] == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    else:
        raise KustomizeError(f"unsupported JSON patch op {op['op']}")


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = resource.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    if resource["kind"] == "CronJob":
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    return pod.get("containers", []) + pod.get("initContainers", [])


def _set_image(resources: list[dict[str, Any]], image: dict[str, Any]) -> None:
    for resource in resources:
        for container in _containers(resource):
            ref = container.get("image", "")
            name, tag = (ref.rsplit(":", 1) + [""])[:2] if ":" in ref.split("/")[-1] \
                else (ref, "")
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            tag = image.get("newTag", tag)
            container["image"] = f"{name}:{tag}" if tag else name
