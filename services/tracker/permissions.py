"""Who may do what: the one table of roles x actions. The tickets service enforces it; the
JSON API's and the pages' role checks and the OpenAPI document read it."""

from __future__ import annotations

from enum import StrEnum

from services.tracker.staff import Role


class Action(StrEnum):
    WHO_AM_I = "who_am_i"
    VIEW_TICKETS = "view_tickets"            # queues, a ticket and its history
    TRANSITION = "transition"                # the targets are further limited by ROLE_TARGETS
    BULK_TRANSITION = "bulk_transition"
    ADD_NOTE = "add_note"
    REROUTE = "reroute"                      # not ours: to another department or category
    TRIAGE = "triage"                        # pick the category the classifier was unsure of
    MARK_DUPLICATE = "mark_duplicate"
    UNDO_DUPLICATE = "undo_duplicate"
    REOPEN_LATE = "reopen_late"              # reopen after the citizen's window
    TAKE_CALLS = "take_calls"                # the call-center console
    VIEW_STATS = "view_stats"                # figures, breaches, the dashboard
    CITIZEN_RATE = "citizen_rate"            # on behalf of the citizen, through intake
    CITIZEN_REOPEN = "citizen_reopen"
    CITIZEN_REPLY = "citizen_reply"          # the citizen's answer to a waiting ticket


_STAFF = frozenset({Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN})
_SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.WHO_AM_I: _STAFF | {Role.SERVICE},
    Action.VIEW_TICKETS: _STAFF,
    Action.TRANSITION: _STAFF,
    Action.BULK_TRANSITION: _SUPERVISORS | {Role.HANDLER},
    Action.ADD_NOTE: _STAFF,
    # operators triage what a department rejected; moving a department's ticket is theirs
    Action.REROUTE: _SUPERVISORS | {Role.HANDLER},
    Action.TRIAGE: _SUPERVISORS | {Role.OPERATOR},
    Action.MARK_DUPLICATE: _STAFF,
    Action.UNDO_DUPLICATE: _SUPERVISORS,
    Action.REOPEN_LATE: _SUPERVISORS,
    Action.TAKE_CALLS: _SUPERVISORS | {Role.OPERATOR},
    Action.VIEW_STATS: _SUPERVISORS,
    Action.CITIZEN_RATE: frozenset({Role.SERVICE}),
    Action.CITIZEN_REOPEN: frozenset({Role.SERVICE}),
    Action.CITIZEN_REPLY: frozenset({Role.SERVICE}),
}


def allowed(role: str, action: Action) -> bool:
    return role in PERMISSIONS[action]


def roles_for(action: Action) -> tuple[Role, ...]:
    """In the order of `Role`, for messages and the OpenAPI document."""
    return tuple(r for r in Role if r in PERMISSIONS[action])
