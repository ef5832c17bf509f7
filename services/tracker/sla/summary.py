"""What the ticket document stores about its clocks: recomputed from history after every
change and by the monitor, so queries (queue order, breaches, the sweep) read fields.

"Breached" has one definition, `is_breached`: the ticket is open and its `breach_at` (the
instant one of its open clocks is, or will be if nothing changes, past its target) has come.
The breach lists ask it live (`repository.breach_page`); the figures count the stored
`sla.breached`, which is `is_breached` at the ticket's last recompute. The two cannot
disagree because the monitor's next look at a ticket (`sla.next_check_at`) is never later
than its `breach_at`, whatever levels were already alerted (a looser policy or a new category
can move a breach that was alerted to a later instant)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.tracker.sla.clocks import (
    ClockStatus,
    StateChange,
    compute_clocks,
    first_response_episodes,
)
from shared.tickets import OPEN_STATES, SlaClock, SlaLevel, SlaState

NEVER = datetime(9999, 1, 1, tzinfo=UTC)
LEVEL_INSTANT = {SlaLevel.WARNING: "warn_at", SlaLevel.BREACH: "due_at",
                 SlaLevel.ESCALATION: "escalate_at"}


def clock_history(ticket: dict[str, Any]) -> list[StateChange]:
    """The state changes the clocks count: notes (no change of state) are left out, and so
    is a duplicate mark a supervisor undid, with its undo: a wrong mark stops no clock."""
    undone = {h["undoes"] for h in ticket["history"] if h.get("undoes") is not None}
    return [StateChange(at=h["at"], to_state=h["to"], department=h.get("department"))
            for h in ticket["history"]
            if h.get("to") and h.get("from") != h.get("to")
            and h.get("seq") not in undone and h.get("undoes") is None]


def ticket_clocks(ticket: dict[str, Any], *, config: Any, now: datetime
                  ) -> dict[str, ClockStatus]:
    urgent = bool(ticket.get("urgent"))
    targets = config.policies.targets_for(category=ticket["category"], urgent=urgent)
    history = clock_history(ticket)
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
        if not clock.running and not clock.paused:
            continue  # a paused clock has instants only for the levels it already reached
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
    """The `$set` for a ticket's SLA fields and its outcome (`finished_at`,
    `finished_on_time`, `first_responses`), all derived from its history."""
    clocks = ticket_clocks(ticket, config=config, now=now)
    alerted = set(ticket.get("alerted", [])) if alerted is None else alerted
    reached, upcoming = pending_levels(clocks, alerted, now=now)
    resolution = clocks[SlaClock.RESOLUTION]
    finished = not resolution.running and not resolution.paused
    calendar = config.calendar_for(urgent=bool(ticket.get("urgent")))
    breach_at = min((c.due_at for c in _open_clocks(clocks) if c.due_at is not None
                     and (c.running or c.breached)), default=NEVER)
    checks = [at for _, _, at in reached] or ([upcoming] if upcoming else [])
    if now < breach_at < NEVER:  # the stored flag turns when the breach comes, alerted or not
        checks.append(breach_at)
    next_check = min(checks, default=None)
    return {
        "sla": {
            "clocks": {name: {"target_s": c.target.total_seconds(),
                              "elapsed_s": c.elapsed.total_seconds(), "running": c.running,
                              "paused": c.paused, "due_at": c.due_at, "warn_at": c.warn_at,
                              "escalate_at": c.escalate_at, "stopped_at": c.stopped_at,
                              "breached": c.breached}
                       for name, c in clocks.items()},
            "next_check_at": next_check,
            "breached": is_breached({"state": ticket["state"], "breach_at": breach_at},
                                    now=now),
            "state": sla_state(clocks, now=now),
        },
        "expected_resolution_at": resolution.due_at,
        # handlers' queues sort on this: nearest deadline first; a paused ticket by the
        # deadline it had when paused (or the one it passed), finished ones last
        "queue_key": min((_due(c, calendar) for c in _open_clocks(clocks)), default=NEVER),
        # when it is (or will be, if nothing changes) an open breach: the live breach list
        "breach_at": breach_at,
        # the last time the ticket reached a final state, None while it is open
        "finished_at": resolution.stopped_at if finished else None,
        "finished_on_time": (not resolution.breached) if finished else None,
        "first_responses": first_responses(ticket, config=config),
    }


def is_breached(ticket: dict[str, Any], *, now: datetime) -> bool:
    """The one definition of an open breach (see the module's docstring)."""
    breach_at = ticket.get("breach_at")
    return ticket.get("state") in OPEN_STATES and breach_at is not None and breach_at <= now


def _open_clocks(clocks: dict[str, ClockStatus]) -> list[ClockStatus]:
    """The clocks that still concern an open ticket: running ones and a paused resolution."""
    return [c for c in clocks.values() if c.running or c.paused]


def _due(clock: ClockStatus, calendar: Any) -> datetime:
    if clock.due_at is not None:
        return clock.due_at
    if clock.paused_since is not None:
        return calendar.add(clock.paused_since, clock.target - clock.elapsed)
    return NEVER


def first_responses(ticket: dict[str, Any], *, config: Any) -> list[dict[str, Any]]:
    """Each department's first-response clock on this ticket and whether it answered in
    time (None while it has not answered)."""
    urgent = bool(ticket.get("urgent"))
    target = config.policies.targets_for(category=ticket["category"],
                                         urgent=urgent).first_response
    calendar = config.calendar_for(urgent=urgent)
    out = []
    for episode in first_response_episodes(ticket["started_at"], clock_history(ticket)):
        answered = episode.responded_at
        out.append({"department": episode.department, "started_at": episode.start,
                    "responded_at": answered,
                    "on_time": None if answered is None
                    else calendar.between(episode.start, answered) < target})
    return out


def sla_state(clocks: dict[str, ClockStatus], *, now: datetime) -> str:
    """on_track | warning | breached | paused | done (for colours and filters)."""
    running = [c for c in clocks.values() if c.running]
    if any(c.breached for c in _open_clocks(clocks)):
        return SlaState.BREACHED
    if any(c.warn_at is not None and c.warn_at <= now for c in running):
        return SlaState.WARNING
    if running:
        return SlaState.ON_TRACK
    if any(c.paused for c in clocks.values()):
        return SlaState.PAUSED
    return SlaState.DONE
