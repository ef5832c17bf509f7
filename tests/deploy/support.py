"""Shared facts for the deployment tests: paths, rendered overlays, names the code defines."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = ROOT / "k8s"
OVERLAYS = {"base": K8S / "base", "dev": K8S / "overlays" / "dev",
            "prod": K8S / "overlays" / "prod"}
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
RULES = DEPLOY / "prometheus" / "rules" / "hotline.rules.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
APP_IMAGES = ("hotline1022/", "registry.example.org/hotline1022/")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "CronJob"}

# Metrics the rules and the dashboard may use without the code defining them.
EXTERNAL_METRICS = {
    "up": "Prometheus' own scrape health",
    "kafka_consumergroup_lag": "Kafka exporter (Strimzi kafkaExporter, Compose kafka-exporter)",
}


@functools.cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(OVERLAYS[overlay]))


def by_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in rendered(overlay) if r["kind"] == kind]


def find(overlay: str, kind: str, name: str) -> dict[str, Any]:
    for resource in rendered(overlay):
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise KeyError(f"{overlay}: no {kind}/{name}")


def pod_template(resource: dict[str, Any]) -> dict[str, Any]:
    if resource["kind"] == "CronJob":
        return resource["spec"]["jobTemplate"]["spec"]["template"]
    return resource["spec"]["template"]


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return pod_template(resource)["spec"]


def is_app_image(image: str) -> bool:
    return image.startswith(APP_IMAGES)


@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@functools.cache
def rules() -> dict[str, Any]:
    return yaml.safe_load(RULES.read_text(encoding="utf-8"))


def alerts() -> list[dict[str, Any]]:
    return [rule for group in rules()["groups"] for rule in group["rules"] if "alert" in rule]


def _python_sources(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


@functools.cache
def string_literals(*folders: str) -> frozenset[str]:
    """Every simple quoted string in the Python sources under `folders`."""
    found: set[str] = set()
    for path in _python_sources(*folders):
        found.update(re.findall(r"""["']([A-Za-z_][A-Za-z0-9_:.]*)["']""",
                                path.read_text(encoding="utf-8")))
    return frozenset(found)


def metric_defined(name: str) -> bool:
    """True when the services' code names this exported metric (a renamed metric fails).

    prometheus_client exports a Counter named "x" or "x_total" as x_total, and a Histogram
    "x" as x_bucket, x_sum and x_count."""
    literals = string_literals("services", "shared")
    candidates = {name}
    for suffix in ("_bucket", "_sum", "_count", "_created"):
        if name.endswith(suffix):
            candidates.add(name[: -len(suffix)])
    if name.endswith("_total"):
        candidates.add(name[: -len("_total")])
    return bool(candidates & literals)


@functools.cache
def known_env_vars() -> frozenset[str]:
    """Environment variables some code reads: Settings.from_env, gunicorn's config, the
    services' command-line helpers and the container scripts of deploy/docker."""
    files = [ROOT / "shared" / "settings.py", ROOT / "shared" / "web" / "gunicorn_conf.py",
             ROOT / "shared" / "service_main.py", *sorted((DEPLOY / "docker").glob("*.py"))]
    names: set[str] = set()
    for path in files:
        names.update(re.findall(r"""["']([A-Z][A-Z0-9_]{2,})["']""",
                                path.read_text(encoding="utf-8")))
    return frozenset(names)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@functools.cache
def runbook_anchors() -> frozenset[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    return frozenset(github_anchor(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M))
