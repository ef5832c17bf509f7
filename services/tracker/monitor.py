"""The SLA monitor: looks only at tickets whose next check has come (an indexed field), so a
sweep costs what is coming due, not what is open.

For each level a clock reached (warning, breach, escalation) it inserts an alert document
whose id is `ticket:clock:level`: the unique id makes the claim, so two monitors, or one
restarted halfway, never claim the same alert twice. The publisher sends claimed alerts.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge
from pymongo.database import Database

from services.tracker.config import ConfigSource, TrackerConfig
from services.tracker.sla.clocks import FIRST_RESPONSE
from services.tracker.sla.summary import pending_levels, sla_fields, ticket_clocks
from services.tracker.stats import counters
from services.tracker.store import ALERTS, LEASES, TICKETS
from shared.clock import Clock
from shared.events import SlaAlertV1
from shared.mongo import insert_new
from shared.retry import TRANSIENT, Outage
from shared.tickets import OPEN_STATES

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
    if not alerts:
        return 0
    taken = insert_new(db[ALERTS], alerts)
    for i, alert in enumerate(alerts):
        if i not in taken:
            ALERTS_CLAIMED.labels(alert["clock"], alert["level"]).inc()
    return len(alerts) - len(taken)


# No check is ever due before this: the lower bound lets the embedded store read the index
# range; with `$lte` alone it scanned every ticket (200 ms a sweep at 1,000 tickets, growing)
EARLIEST_CHECK = datetime(1970, 1, 1, tzinfo=UTC)


def due_filter(now: datetime) -> dict[str, Any]:
    """Tickets with a check due by `now` (closed ones have none)."""
    return {"sla.next_check_at": {"$gte": EARLIEST_CHECK, "$lte": now}}


def sweep(*, db: Database, config: TrackerConfig, now: datetime,
          limit: int = 1000) -> SweepResult:
    """Claim every level the due tickets' clocks reached, then store each ticket's next check.
    Claims go first: a crash in between leaves tickets that the next sweep examines again,
    and their claims are already taken."""
    due = list(db[TICKETS].find(due_filter(now)).sort("sla.next_check_at", 1).limit(limit))
    alerts: list[dict[str, Any]] = []
    updates: list[counters.Change] = []
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
        updates.append(counters.Change(ticket=ticket, updated={**ticket, **fields},
                                       filter={"_id": ticket["_id"], "seq": ticket["seq"]},
                                       update={"$set": fields}))
    claimed = claim_alerts(db=db, alerts=alerts)
    if updates:  # a ticket that became an open breach moves the counters
        counters.save_many(db, updates, tz=config.business.tz)
    return SweepResult(examined=len(due), claimed=claimed)


def reconcile(*, db: Database, config: TrackerConfig, now: datetime, batch: int = 500) -> int:
    """After a change of SLA policy or calendar, recompute the SLA fields of every open ticket
    once (the sweep reads the stored next-check instants, which the old rules computed).
    Returns how many tickets were recomputed; 0 when the rules did not change."""
    state = db[LEASES].find_one({"_id": "sla-rules"}) or {}
    if state.get("fingerprint") == config.fingerprint:
        return 0
    count = _recompute(db, config, now, {"state": {"$in": list(OPEN_STATES)}}, batch)
    # tickets stored before the outcome fields existed (finished_at, first_responses): the
    # figures read those fields, so finished ones get them once, from their history
    count += _recompute(db, config, now, {"first_responses": {"$exists": False}}, batch)
    db[LEASES].update_one({"_id": "sla-rules"},
                          {"$set": {"fingerprint": config.fingerprint, "applied_at": now}},
                          upsert=True)
    log.info("SLA rules changed: recomputed %d open tickets", count)
    return count


def _recompute(db: Database, config: TrackerConfig, now: datetime, query: dict[str, Any],
               batch: int) -> int:
    count = 0
    last_id = ""
    while True:
        tickets = list(db[TICKETS].find({**query, "_id": {"$gt": last_id}})
                       .sort("_id", 1).limit(batch))
        if not tickets:
            return count
        for ticket in tickets:
            fields = sla_fields(ticket, config=config, now=now)
            try:
                counters.save(db, counters.Change(
                    ticket=ticket, updated={**ticket, **fields},
                    filter={"_id": ticket["_id"], "seq": ticket["seq"]},
                    update={"$set": fields}), tz=config.business.tz)
            except counters.Lost:
                pass  # changed meanwhile: the change recomputed its fields
        count += len(tickets)
        last_id = tickets[-1]["_id"]


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
