"""The two SLA clocks of a ticket, recomputed from its history (pure: time is passed in).

- `first_response` runs from `started_at` until the first change into a state that answers
  the citizen (FIRST_RESPONSE_STOPS). It never pauses. A ticket re-routed to another
  department starts a new one for the receiving department at the change that hands it over
  (`first_response_episodes` lists them all; the clock is the current department's).
- `resolution` counts while the ticket is in any state but `waiting_citizen` (paused) and
  resolved/closed/duplicate (stopped). Any later change into a counting state, normally
  `reopened`, resumes it with the working time it already had.

Threshold instants (warn_at, due_at, escalate_at) are exact: the counting segments are walked
in order and the instant is `calendar.add(segment_start, threshold - elapsed_before_segment)`
in the segment where the threshold is (or, for the running segment, will be) crossed. A
threshold already crossed keeps that instant even when the clock is now paused or stopped; a
threshold not yet crossed has an instant only while the clock runs (None when paused or
stopped, since nobody knows when counting resumes).

All levels use ">=": at `due_at` the target is used up and the clock counts as breached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.tracker.sla.calendar import Calendar
from services.tracker.sla.policy import Targets
from shared.tickets import FINAL_STATES, RESPONDED_STATES, SlaClock, TicketState

FIRST_RESPONSE = SlaClock.FIRST_RESPONSE
RESOLUTION = SlaClock.RESOLUTION

TICKET_STATES: frozenset[str] = frozenset(TicketState)
INITIAL_STATE = TicketState.NEW
FIRST_RESPONSE_STOPS: frozenset[str] = RESPONDED_STATES
RESOLUTION_PAUSES: frozenset[str] = frozenset({TicketState.WAITING_CITIZEN})
RESOLUTION_STOPS: frozenset[str] = FINAL_STATES
_RESOLUTION_IDLE = RESOLUTION_PAUSES | RESOLUTION_STOPS

_ZERO = timedelta(0)

# A counting segment: (start, end); end None means still counting at `now`.
_Segment = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class StateChange:
    """One entry of the ticket's history."""

    at: datetime
    to_state: str
    department: str | None = None  # set on the changes that route the ticket


@dataclass(frozen=True)
class Episode:
    """One department's first-response clock: from receiving the ticket to its response."""

    department: str | None
    start: datetime
    responded_at: datetime | None


@dataclass(frozen=True)
class ClockStatus:
    name: str
    target: timedelta
    elapsed: timedelta
    running: bool
    paused: bool
    stopped_at: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    escalate_at: datetime | None
    breached: bool
    paused_since: datetime | None = None


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


def _relevant_history(history: Sequence[StateChange], now: datetime) -> list[StateChange]:
    previous: datetime | None = None
    for i, change in enumerate(history):
        _require_aware(change.at, f"history[{i}].at")
        if change.to_state not in TICKET_STATES:
            raise ValueError(f"history[{i}].to_state: unknown state {change.to_state!r}")
        if previous is not None and change.at < previous:
            raise ValueError(f"history[{i}]: history must be sorted by 'at'")
        previous = change.at
    return [change for change in history if change.at <= now]


def first_response_episodes(
    started_at: datetime, changes: Sequence[StateChange]
) -> list[Episode]:
    """A department's clock starts when it receives the ticket: the first at `started_at`
    (through triage too), each next one at the change routing it to another department."""
    episodes: list[Episode] = []
    department: str | None = None
    start, responded = started_at, None
    for change in changes:
        at = max(change.at, started_at)
        if change.department is not None and change.department != department:
            if department is not None:
                episodes.append(Episode(department, start, responded))
                start, responded = at, None
            department = change.department
        if responded is None and change.to_state in FIRST_RESPONSE_STOPS:
            responded = at
    episodes.append(Episode(department, start, responded))
    return episodes


def _first_response_segments(
    started_at: datetime, changes: Sequence[StateChange]
) -> tuple[list[_Segment], datetime | None]:
    current = first_response_episodes(started_at, changes)[-1]
    return [(current.start, current.responded_at)], current.responded_at


def _resolution_segments(
    started_at: datetime, changes: Sequence[StateChange]
) -> tuple[list[_Segment], str, datetime | None]:
    """Counting segments, the state at `now` and, when that state stops the clock, the instant
    the stop began (resolved then closed stays stopped since the resolution)."""
    segments: list[_Segment] = []
    state = INITIAL_STATE
    open_since: datetime | None = started_at
    stopped_since: datetime | None = None
    for change in changes:
        at = max(change.at, started_at)
        counts = change.to_state not in _RESOLUTION_IDLE
        if open_since is not None and not counts:
            segments.append((open_since, at))
            open_since = None
        elif open_since is None and counts:
            open_since = at
        if change.to_state not in RESOLUTION_STOPS:
            stopped_since = None
        elif stopped_since is None:
            stopped_since = change.at
        state = change.to_state
    if open_since is not None:
        segments.append((open_since, None))
    return segments, state, stopped_since


def _status(
    *,
    name: str,
    segments: Sequence[_Segment],
    target: timedelta,
    calendar: Calendar,
    now: datetime,
    paused: bool,
    stopped_at: datetime | None,
    warn_fraction: float,
    escalate_fraction: float,
) -> ClockStatus:
    parts = [calendar.between(start, now if end is None else end) for start, end in segments]
    elapsed = sum(parts, _ZERO)
    running = bool(segments) and segments[-1][1] is None

    def instant(threshold: timedelta) -> datetime | None:
        before = _ZERO
        for (start, end), part in zip(segments, parts, strict=True):
            if end is None or before + part >= threshold:
                return calendar.add(start, threshold - before)
            before += part
        return None

    return ClockStatus(
        name=name,
        target=target,
        elapsed=elapsed,
        running=running,
        paused=paused,
        stopped_at=None if stopped_at is None else stopped_at.astimezone(UTC),
        due_at=instant(target),
        warn_at=instant(target * warn_fraction),
        escalate_at=instant(target * escalate_fraction),
        breached=elapsed >= target,
        paused_since=segments[-1][1] if paused and segments else None,
    )


def compute_clocks(
    *,
    started_at: datetime,
    history: Sequence[StateChange],
    targets: Targets,
    calendar: Calendar,
    now: datetime,
    warn_fraction: float = 0.75,
    escalate_fraction: float = 1.5,
) -> dict[str, ClockStatus]:
    """Both clocks of a ticket at `now`, keyed "first_response" and "resolution".

    `history` is sorted by `at` (ValueError otherwise); entries after `now` are ignored, and
    the ticket is in state "new" from `started_at` until its first entry. Pick the calendar by
    urgency: business calendar for normal tickets, continuous for urgent ones.
    """
    _require_aware(started_at, "started_at")
    _require_aware(now, "now")
    changes = _relevant_history(history, now)
    first_segments, first_stop = _first_response_segments(started_at, changes)
    res_segments, state, res_stop = _resolution_segments(started_at, changes)
    first = _status(
        name=FIRST_RESPONSE,
        segments=first_segments,
        target=targets.first_response,
        calendar=calendar,
        now=now,
        paused=False,
        stopped_at=first_stop,
        warn_fraction=warn_fraction,
        escalate_fraction=escalate_fraction,
    )
    resolution = _status(
        name=RESOLUTION,
        segments=res_segments,
        target=targets.resolution,
        calendar=calendar,
        now=now,
        paused=state in RESOLUTION_PAUSES,
        stopped_at=res_stop,
        warn_fraction=warn_fraction,
        escalate_fraction=escalate_fraction,
    )
    return {FIRST_RESPONSE: first, RESOLUTION: resolution}
