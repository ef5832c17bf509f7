"""The ticket state machine: which moves exist, and which roles may make them."""

from __future__ import annotations

from services.tracker.staff import Role
from services.tracker.tickets.errors import IllegalTransition
from shared.tickets import STATES, TicketState

S = TicketState
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    S.NEW: frozenset({S.TRIAGE, S.ASSIGNED}),
    S.TRIAGE: frozenset({S.ASSIGNED, S.DUPLICATE}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.REJECTED,
                           S.DUPLICATE}),
    S.IN_PROGRESS: frozenset({S.WAITING_CITIZEN, S.RESOLVED, S.REJECTED, S.DUPLICATE}),
    S.WAITING_CITIZEN: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.REJECTED,
                           S.DUPLICATE}),
    # not this department's responsibility: an operator triages it or it is re-routed
    S.REJECTED: frozenset({S.TRIAGE, S.ASSIGNED}),
    S.DUPLICATE: frozenset(),
}

# The targets each role may move a ticket to (the move must also be in TRANSITIONS); the
# actions themselves (transition, triage, re-route...) are in services.tracker.permissions.
ROLE_TARGETS: dict[Role, frozenset[TicketState]] = {
    Role.OPERATOR: frozenset({S.TRIAGE, S.ASSIGNED, S.DUPLICATE}),
    Role.HANDLER: frozenset({S.IN_PROGRESS, S.WAITING_CITIZEN, S.RESOLVED, S.CLOSED,
                             S.REJECTED, S.DUPLICATE}),
    Role.SUPERVISOR: frozenset(TRANSITIONS),
    Role.ADMIN: frozenset(TRANSITIONS),
    Role.SERVICE: frozenset({S.CLOSED, S.REOPENED}),
}

__all__ = ["ROLE_TARGETS", "STATES", "TRANSITIONS", "IllegalTransition", "check_transition",
           "role_may_move_to"]


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):  # type: ignore[call-overload]
        raise IllegalTransition(current, target)


def role_may_move_to(role: str, target: str) -> bool:
    return target in ROLE_TARGETS.get(role, frozenset())  # type: ignore[call-overload]
