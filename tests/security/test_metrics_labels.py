"""Junk HTTP methods and unknown paths cannot create new metric series."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.intake.app import create_app
from shared.web.metrics import METHODS, OTHER


def _methods_seen() -> set[str]:
    return {sample.labels["method"] for metric in REGISTRY.collect()
            if metric.name == "http_requests" for sample in metric.samples
            if "method" in sample.labels}


def test_junk_http_methods_do_not_create_series(settings, clock, db):
    client = create_app(settings, clock=clock).test_client()
    for i in range(5):
        client.open(f"/nope-{i}", method=f"JUNK{i}")
        client.open("/api/v1/reports", method=f"BREW{i}")
    assert _methods_seen() <= METHODS | {OTHER}
    assert OTHER in _methods_seen()
