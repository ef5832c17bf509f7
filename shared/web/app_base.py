"""What every service's Flask app gets: problem details, metrics, /healthz, /openapi.json."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask, Response, jsonify
from flask.json.provider import DefaultJSONProvider

from shared.timefmt import iso_local
from shared.web.metrics import instrument, metrics_response
from shared.web.problems import install_problem_handlers


class CityTimeJSON(DefaultJSONProvider):
    """Datetimes in JSON answers as ISO 8601 in the city's time zone, not HTTP dates."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return iso_local(o)
        return DefaultJSONProvider.default(o)


def base_app(
    name: str,
    *,
    service: str,
    openapi: Callable[[], dict[str, Any]],
    readiness: Callable[[], dict[str, bool]],
    collectors: Iterable[Callable[[], Iterable[Any]]] = (),
) -> Flask:
    app = Flask(name)
    app.json = CityTimeJSON(app)
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
