"""Prometheus metrics that stay correct under several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (the gunicorn config sets it), every worker writes its
samples to files there and `/metrics` merges them. Gauges that describe the store (backlogs,
open tickets) are computed at scrape time by collectors, so any worker gives the same answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


# Every label takes a value from a known set, so that junk requests cannot create series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else OTHER


class ScrapeCollector:
    """Adapts a function returning metrics into a collector evaluated at each scrape."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


def instrument(app: Flask, service: str) -> None:
    @app.before_request
    def _start() -> None:
        g._metrics_start = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"  # the app's rules
        HTTP_REQUESTS.labels(service, method_label(request.method), route,
                             status_label(response.status_code)).inc()
        start = g.get("_metrics_start")
        if start is not None:
            HTTP_LATENCY.labels(service, route).observe(time.perf_counter() - start)
        return response


def metrics_response(collectors: Iterable[Callable[[], Iterable[Metric]]] = ()) -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    for collect in collectors:
        extra.register(ScrapeCollector(collect))
    body += generate_latest(extra)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
