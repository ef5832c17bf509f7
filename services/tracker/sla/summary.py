"""What the ticket document stores about its clocks: recomputed from history after every
change and by the monitor, so queries (queue order, breaches, the sweep) read fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.tracker.sla.clocks import ClockStatus, StateChange, compute_clocks

NEVER = datetime(9999, 1, 1, tzinfo=UTC)
LEVEL_INSTANT = {"warning": "warn_at", "breach": "due_at", "escalation": "escalate_at"}


def ticket_clocks(ticket: dict[str, Any], *, config: Any, now: datetime
                  ) -> dict[str, ClockStatus]:
    urgent = bool(ticket.get("urgent"))
    targets = config.policies.targets_for(category=ticket["category"], urgent=urgent)
    history = [StateChange(at=h["at"], to_state=h["to"]) for h in ticket["history"]
               if h.get("to") and h.get("from") != h.get("to")]
    return compute_clocks(started_at=ticket["started_at"], history=history, targets=targets,
                          calendar=config.calendar_for(urgent=urgent), now=now,
                          warn_fraction=config.policies.warn_fraction,
                          escalate_fraction=config.policies.escalate_fraction)


def pending_levels(clocks: dict[str, ClockStatus], alerted: set[str], *, now: datetime
                   ) -> tuple[list[tuple[str, str, datetime]], datetime | None]:
    """Levels reached and not yet alerted, as (clock, level, reached_at), and the next instant
    a level not yet alerted will be reached (the monitor's next look at this ticket)."""
    reached: list[tuple[str, str, datetime]] = []
    upcoming: list[datetime] = []
    for name, clock in clocks.items():
        if not clock.running:
            continue
        for level, attr in LEVEL_INSTANT.items():
            if f"{name}:{level}" in alerted:
                continue
            at = getattr(clock, attr)
            if at is None:
                continue
            if at <= now:
                reached.append((name, level, at))
            else:
                upcoming.append(at)
    return reached, min(upcoming) if upcoming else None


def sla_fields(ticket: dict[str, Any], *, config: Any, now: datetime,
               alerted: set[str] | None = None) -> dict[str, Any]:
    """The `$set` for a ticket's SLA fields."""
    clocks = ticket_clocks(ticket, config=config, now=now)
    alerted = set(ticket.get("alerted", [])) if alerted is None else alerted
    reached, upcoming = pending_levels(clocks, alerted, now=now)
    next_check = min(at for _, _, at in reached) if reached else upcoming
    resolution = clocks["resolution"]
    return {
        "sla": {
            "clocks": {name: {"target_s": c.target.total_seconds(),
                              "elapsed_s": c.elapsed.total_seconds(), "running": c.running,
                              "paused": c.paused, "due_at": c.due_at, "warn_at": c.warn_at,
                              "escalate_at": c.escalate_at, "stopped_at": c.stopped_at,
                              "breached": c.breached}
                       for name, c in clocks.items()},
            "next_check_at": next_check,
            "breached": any(c.breached and c.running for c in clocks.values()),
            "state": sla_state(clocks, now=now),
        },
        "expected_resolution_at": resolution.due_at,
        # handlers' queues sort on this: nearest deadline first, paused and done ones last
        "queue_key": min((c.due_at for c in clocks.values() if c.running and c.due_at),
                         default=NEVER),
    }


def sla_state(clocks: dict[str, ClockStatus], *, now: datetime) -> str:
    """on_track | warning | breached | paused | done (for colours and filters)."""
    running = [c for c in clocks.values() if c.running]
    if any(c.breached for c in running):
        return "breached"
    if any(c.warn_at is not None and c.warn_at <= now for c in running):
        return "warning"
    if running:
        return "on_track"
    if any(c.paused for c in clocks.values()):
        return "paused"
    return "done"
