"""What every service's Flask app gets: problem details, metrics, /healthz, /openapi.json."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, jsonify

from shared.web.metrics import instrument, metrics_response
from shared.web.problems import install_problem_handlers


def base_app(
    name: str,
    *,
    service: str,
    openapi: Callable[[], dict[str, Any]],
    readiness: Callable[[], dict[str, bool]],
    collectors: Iterable[Callable[[], Iterable[Any]]] = (),
) -> Flask:
    app = Flask(name)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install_problem_handlers(app)
    instrument(app, service)
    collectors = tuple(collectors)
    document: dict[str, Any] = {}

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        checks = readiness()
        ready = all(checks.values())
        return jsonify(status="ready" if ready else "not ready", checks=checks), (
            200 if ready else 503
        )

    @app.get("/metrics")
    def metrics() -> Response:
        return metrics_response(collectors)

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        if not document:
            document.update(openapi())
        return jsonify(document)

    return app
