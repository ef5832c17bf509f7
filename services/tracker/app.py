"""The tracker's application factory."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from services.tracker import openapi
from services.tracker.alerts.api import bp as alerts_bp
from services.tracker.answers.api import bp as answers_bp
from services.tracker.config import ConfigSource, TrackerConfig
from services.tracker.deps import TrackerDeps
from services.tracker.live import pages as live_pages
from services.tracker.live.hub import LiveConfig
from services.tracker.owners.api import bp as owners_bp
from services.tracker.pages import blueprint as staff_pages
from services.tracker.stats.api import bp as stats_bp
from services.tracker.stats.counters import gauges
from services.tracker.tickets.api import bp as tickets_bp
from shared.clock import Clock, clock_from
from shared.mongo import connect, database, reachable
from shared.settings import Settings
from shared.web.app_base import base_app
from shared.web.pages import configure_sessions


def ticket_gauges(db) -> Iterable[GaugeMetricFamily]:
    open_tickets = GaugeMetricFamily("tracker_open_tickets", "Open tickets",
                                     labels=["department", "state"])
    breaches = GaugeMetricFamily("tracker_open_breaches", "Open tickets past an SLA deadline",
                                 labels=["department"])
    on_time = GaugeMetricFamily("tracker_on_time_ratio",
                                "Finished tickets (resolved, closed or duplicate, by their last "
                                "resolution) finished within the resolution target",
                                labels=["department"])
    first = GaugeMetricFamily("tracker_first_response_on_time_ratio",
                              "First responses within the target, per receiving department",
                              labels=["department"])
    try:  # the counters (`stats/counters.py`): two small reads, whatever the ticket count
        now = gauges(db)
        for (department, state), n in sorted(now.open_tickets.items(),
                                             key=lambda pair: (pair[0][0] or "", pair[0][1])):
            open_tickets.add_metric([department or "unassigned", state], n)
        for department, n in sorted(now.open_breaches.items(), key=lambda p: p[0] or ""):
            breaches.add_metric([department or "unassigned"], n)
        for department, rate in sorted(now.on_time.items()):
            on_time.add_metric([department], rate)
        for department, rate in sorted(now.first_response_on_time.items()):
            first.add_metric([department], rate)
    except PyMongoError:
        pass
    yield from (open_tickets, breaches, on_time, first)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               client: MongoClient | None = None,
               config: TrackerConfig | None = None) -> Flask:
    settings = settings or Settings.from_env(service="tracker")
    clock = clock or clock_from(settings.clock_file)
    client = client or connect(settings)
    db = database(client, settings)
    source = ConfigSource.fixed(config) if config is not None else ConfigSource(settings)

    def readiness() -> dict[str, bool]:
        return {"store": reachable(client)}

    app = base_app(__name__, service="tracker", openapi=openapi.document,
                   proxy_hops=settings.proxy_hops, readiness=readiness,
                   collectors=[lambda: ticket_gauges(db)])
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    app.extensions["tracker"] = TrackerDeps(settings=settings, client=client, db=db,
                                            source=source, clock=clock)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(owners_bp)
    app.register_blueprint(answers_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(stats_bp)
    configure_sessions(app, settings, service="staff")
    app.register_blueprint(staff_pages(settings))
    live_pages.attach(app, LiveConfig(max_streams=settings.live_streams_per_worker))
    return app
