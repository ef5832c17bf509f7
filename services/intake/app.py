"""Intake's application factory."""

from __future__ import annotations

import socket
from collections.abc import Iterable

import pymongo
from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from services.intake import openapi
from services.intake.batcher import DirectInsert, InsertBatcher
from services.intake.deps import IntakeDeps
from services.intake.notify import api as notify_api
from services.intake.open311.api import bp as open311_bp
from services.intake.outbox.relay import backlog as outbox_backlog
from services.intake.pages import blueprint as resident_pages
from services.intake.ratelimit import RateLimiter
from services.intake.reports.api import bp as reports_bp
from services.intake.reports.staff_photos import bp as staff_photos_bp
from services.intake.store import REPORTS
from services.intake.tracking import TrackingCodes
from shared.blind_index import BlindIndex
from shared.clock import Clock, clock_from
from shared.crypto import FieldCipher
from shared.mongo import connect, database, reachable
from shared.retry import CircuitBreaker
from shared.settings import Settings
from shared.web.app_base import base_app
from shared.web.pages import configure_sessions
from shared.web.problems import install_store_breaker

READINESS_TIMEOUT_S = 0.8


def broker_reachable(bootstrap: str, timeout: float = 0.5) -> bool:
    """A TCP check of the first bootstrap server: cheap enough for every readiness probe."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               client: MongoClient | None = None) -> Flask:
    settings = settings or Settings.from_env(service="intake")
    clock = clock or clock_from(settings.clock_file)
    client = client or connect(settings)
    db = database(client, settings)

    def readiness() -> dict[str, bool]:
        # answers within a second even when the store hangs (SIGSTOP, a partition)
        store = reachable(client, READINESS_TIMEOUT_S)
        # the broker is not required: with it down intake keeps accepting (the outbox holds
        # the reports), so a Kafka outage must not take intake out of the load balancer
        return {"store": store}

    def backlog() -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("intake_outbox_backlog",
                                  "Reports stored but not yet acknowledged by Kafka")
        try:
            with pymongo.timeout(READINESS_TIMEOUT_S):
                gauge.add_metric([], outbox_backlog(db))
        except PyMongoError:
            gauge.add_metric([], float("nan"))
        yield gauge
        reachable = GaugeMetricFamily("intake_broker_reachable",
                                      "1 if the first Kafka bootstrap server accepts a connection")
        reachable.add_metric([], float(broker_reachable(settings.kafka_bootstrap)))
        yield reachable

    app = base_app(__name__, service="intake", openapi=openapi.document,
                   proxy_hops=settings.proxy_hops,
                   readiness=readiness, collectors=[backlog])
    app.config["MAX_CONTENT_LENGTH"] = settings.max_json_body_bytes
    install_store_breaker(app, CircuitBreaker(open_s=1.0))
    app.extensions["intake"] = IntakeDeps(
        settings=settings, client=client, db=db,
        cipher=FieldCipher(settings.pii_keys),
        codes=TrackingCodes(db, prefix=settings.tracking_prefix, timezone=settings.timezone),
        clock=clock,
        write_limiter=RateLimiter(settings.rate_limit_per_minute, db=db, scope="write",
                                  exact=settings.rate_limit_exact),
        read_limiter=RateLimiter(settings.rate_limit_per_minute * 10, db=db, scope="read",
                                 exact=settings.rate_limit_exact),
        report_writer=(InsertBatcher(db[REPORTS],
                                     timeout_s=settings.mongo_timeout_ms / 1000 + 1.0)
                       if settings.group_commit else DirectInsert(db[REPORTS])),
        blind=BlindIndex(settings.contact_index_key),
    )
    app.register_blueprint(reports_bp)
    app.register_blueprint(open311_bp)
    configure_sessions(app, settings, service="intake")
    app.register_blueprint(resident_pages(settings))
    app.register_blueprint(notify_api.pages)
    app.register_blueprint(notify_api.api)
    app.register_blueprint(staff_photos_bp)
    return app
