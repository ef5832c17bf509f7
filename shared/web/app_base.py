"""What every service's Flask app gets: problem details, metrics, /healthz, /openapi.json."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask, Response, jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

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
    proxy_hops: int = 0,
) -> Flask:
    """`proxy_hops`: how many reverse proxies (an ingress, a load balancer) stand in front
    and set X-Forwarded-For/-Proto/-Host; their values are trusted for that many hops only, so
    the client address (rate limits) is the citizen's, not the proxy's."""
    app = Flask(name)
    if proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops,  # type: ignore[method-assign]
                                x_proto=proxy_hops, x_host=proxy_hops)
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
