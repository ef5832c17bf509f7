"""The ticket vocabulary every service speaks: ticket states, the SLA clocks, their alert
levels and the SLA colours. One home, so that events, the tracker's state machine and clocks,
its store and intake's status labels cannot disagree."""

from __future__ import annotations

from enum import StrEnum


class TicketState(StrEnum):
    NEW = "new"
    TRIAGE = "triage"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CITIZEN = "waiting_citizen"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    REJECTED = "rejected"  # not this department's: an operator triages it or it is re-routed
    DUPLICATE = "duplicate"


STATES: tuple[TicketState, ...] = tuple(TicketState)
# Final: the resolution clock stops and the ticket leaves the queues.
FINAL_STATES: frozenset[TicketState] = frozenset(
    {TicketState.RESOLVED, TicketState.CLOSED, TicketState.DUPLICATE})
OPEN_STATES: tuple[TicketState, ...] = tuple(
    s for s in TicketState if s not in FINAL_STATES)
# Waiting for an operator's category.
TRIAGE_STATES: tuple[TicketState, ...] = (TicketState.TRIAGE, TicketState.REJECTED)
# A change into one of these answers the citizen: the first-response clock stops.
RESPONDED_STATES: frozenset[TicketState] = frozenset(
    {TicketState.IN_PROGRESS, TicketState.WAITING_CITIZEN, TicketState.RESOLVED,
     TicketState.CLOSED, TicketState.REJECTED, TicketState.DUPLICATE})


class SlaClock(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class SlaLevel(StrEnum):
    """Alert levels, in the order a clock reaches them."""

    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


class SlaState(StrEnum):
    """A ticket's SLA colour, for queues and filters."""

    ON_TRACK = "on_track"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"
    DONE = "done"


SLA_STATES: tuple[SlaState, ...] = tuple(SlaState)
