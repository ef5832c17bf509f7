"""The ticket state machine: which moves exist, and which roles may make them."""

from __future__ import annotations

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"triage", "assigned"}),
    "triage": frozenset({"assigned", "duplicate"}),
    "assigned": frozenset({"in_progress", "waiting_citizen", "resolved", "rejected",
                           "duplicate"}),
    "in_progress": frozenset({"waiting_citizen", "resolved", "rejected", "duplicate"}),
    "waiting_citizen": frozenset({"in_progress", "resolved", "closed"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "reopened": frozenset({"in_progress", "waiting_citizen", "resolved", "rejected",
                           "duplicate"}),
    # not this department's responsibility: an operator triages it or it is re-routed
    "rejected": frozenset({"triage", "assigned"}),
    "duplicate": frozenset(),
}

# The targets each role may move a ticket to (the move must also be in TRANSITIONS).
ROLE_TARGETS: dict[str, frozenset[str]] = {
    "operator": frozenset({"triage", "assigned", "duplicate"}),
    "handler": frozenset({"in_progress", "waiting_citizen", "resolved", "closed", "rejected",
                          "duplicate"}),
    "supervisor": frozenset(TRANSITIONS),
    "admin": frozenset(TRANSITIONS),
    "service": frozenset({"closed", "reopened"}),
}

STATES: tuple[str, ...] = tuple(TRANSITIONS)


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a ticket in state {current!r} cannot move to {target!r}")
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)


def role_may_move_to(role: str, target: str) -> bool:
    return target in ROLE_TARGETS.get(role, frozenset())
