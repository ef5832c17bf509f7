"""The SLA monitor: looks only at tickets whose next check has come (an indexed field), so a
sweep costs what is coming due, not what is open.

For each level a clock reached (warning, breach, escalation) it inserts an alert document
whose id is `ticket:clock:level`: the unique id makes the claim, so two monitors, or one
restarted halfway, never claim the same alert twice. The publisher sends claimed alerts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge
from pymongo.database import Database

from services.tracker.config import ConfigSource, TrackerConfig
from services.tracker.sla.clocks import FIRST_RESPONSE
from services.tracker.sla.summary import pending_levels, sla_fields, ticket_clocks
from services.tracker.store import LEASES
from services.tracker.tickets import repository
from shared.clock import Clock
from shared.events import SlaAlertV1
from shared.retry import TRANSIENT, Outage

log = logging.getLogger(__name__)
ALERTS_CLAIMED = Counter("tracker_sla_alerts_total", "SLA alerts raised", ["clock", "level"])
LAST_SWEEP = Gauge("tracker_monitor_last_sweep_timestamp_seconds",
                   "When the monitor last finished a sweep", multiprocess_mode="max")


@dataclass(frozen=True)
class SweepResult:
    examined: int
    claimed: int


def alert_document(*, ticket: dict[str, Any], clock: str, level: str, reached_at: datetime,
                   due_at: datetime | None, now: datetime) -> dict[str, Any]:
    alert_id = f"{ticket['_id']}:{clock}:{level}"
    episode = len(ticket.get("first_responses") or ())
    if clock == FIRST_RESPONSE and episode > 1:  # the clock of a department it was re-routed to
        alert_id += f":{episode}"
    event = SlaAlertV1(event_id=alert_id, occurred_at=now, ticket_id=ticket["_id"],
                       tracking_code=ticket["tracking_code"],
                       department=ticket.get("department"), category=ticket["category"],
                       urgent=bool(ticket.get("urgent")), clock=clock, level=level,
                       due_at=due_at, reached_at=reached_at)
    return {"_id": alert_id, "ticket_id": ticket["_id"], "department": ticket.get("department"),
            "clock": clock, "level": level, "reached_at": reached_at, "claimed_at": now,
            "pending": True, "event": event.model_dump(mode="json")}


def claim_alerts(*, db: Database, alerts: list[dict[str, Any]]) -> int:
    """Insert the alerts in one unordered write; an id already there was claimed before (by
    another monitor, or by this one before a restart) and is skipped. Returns how many were
    claimed now."""
    taken = repository.claim_alerts(db, alerts)
    for i, alert in enumerate(alerts):
        if i not in taken:
            ALERTS_CLAIMED.labels(alert["clock"], alert["level"]).inc()
    return len(alerts) - len(taken)


def sweep(*, db: Database, config: TrackerConfig, now: datetime,
          limit: int = 1000) -> SweepResult:
    """Claim every level the due tickets' clocks reached, then store each ticket's next check.
    Claims go first: a crash in between leaves tickets that the next sweep examines again,
    and their claims are already taken."""
    due = repository.due_for_check(db, now=now, limit=limit)
    alerts: list[dict[str, Any]] = []
    updates: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for ticket in due:
        clocks = ticket_clocks(ticket, config=config, now=now)
        alerted = set(ticket.get("alerted", []))
        reached, _ = pending_levels(clocks, alerted, now=now)
        for clock_name, level, reached_at in reached:
            alerts.append(alert_document(ticket=ticket, clock=clock_name, level=level,
                                         reached_at=reached_at,
                                         due_at=clocks[clock_name].due_at, now=now))
            alerted.add(f"{clock_name}:{level}")
        fields = sla_fields(ticket, config=config, now=now, alerted=alerted)
        # conditional on seq: a ticket changed meanwhile already has fresh SLA fields, and
        # what it reached is claimed again harmlessly on the next sweep
        fields["alerted"] = sorted(alerted)
        updates.append((ticket, fields))
    claimed = claim_alerts(db=db, alerts=alerts)
    # a ticket that became an open breach moves the counters
    repository.save_recomputed(db, updates, tz=config.business.tz)
    return SweepResult(examined=len(due), claimed=claimed)


def reconcile(*, db: Database, config: TrackerConfig, now: datetime, batch: int = 500) -> int:
    """After a change of SLA policy or calendar, recompute the SLA fields of every open ticket
    once (the sweep reads the stored next-check instants, which the old rules computed).
    Returns how many tickets were recomputed; 0 when the rules did not change."""
    state = db[LEASES].find_one({"_id": "sla-rules"}) or {}
    if state.get("fingerprint") == config.fingerprint:
        return 0
    count = _recompute(db, config, now, repository.open_pages(db, batch=batch))
    # tickets stored before the outcome fields existed (finished_at, first_responses): the
    # figures read those fields, so finished ones get them once, from their history
    count += _recompute(db, config, now, repository.without_outcome_pages(db, batch=batch))
    db[LEASES].update_one({"_id": "sla-rules"},
                          {"$set": {"fingerprint": config.fingerprint, "applied_at": now}},
                          upsert=True)
    log.info("SLA rules changed: recomputed %d open tickets", count)
    return count


def _recompute(db: Database, config: TrackerConfig, now: datetime,
               pages: Iterator[list[dict[str, Any]]]) -> int:
    count = 0
    for tickets in pages:
        # a ticket changed meanwhile is skipped: the change recomputed its fields
        repository.save_recomputed(
            db, [(t, sla_fields(t, config=config, now=now)) for t in tickets],
            tz=config.business.tz)
        count += len(tickets)
    return count


def run_monitor(stop: threading.Event, *, db: Database, config: TrackerConfig | ConfigSource,
                clock: Clock, interval_s: float) -> None:
    """Sweep until stopped. Given a ConfigSource, the rules are read again from the files
    (every 30 s by default) and a change is applied to every open ticket at once. A store
    outage is waited out with the shared backoff (claims are idempotent, so a sweep cut short
    is simply done again), never a reason to exit."""
    source = config if isinstance(config, ConfigSource) else ConfigSource.fixed(config)
    outage = Outage("tracker-monitor", logger=log)
    applied = ""
    while not stop.is_set():
        try:
            current = source.current()
            if current.fingerprint != applied:
                reconcile(db=db, config=current, now=clock())
                applied = current.fingerprint
            result = sweep(db=db, config=current, now=clock())
            LAST_SWEEP.set(clock().timestamp())
        except TRANSIENT as exc:
            stop.wait(outage.failed(exc))
            continue
        outage.recovered()
        if result.examined < 1000:
            stop.wait(interval_s)
