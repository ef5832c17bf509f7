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
    # the staff helpdesk (issue 20)
    TAKE = "take"                            # a handler takes an unowned ticket
    ASSIGN = "assign"                        # give a ticket to a handler; a handler only its own
    BULK_ASSIGN = "bulk_assign"
    SET_AVAILABILITY = "set_availability"    # available for round-robin
    SET_ROUND_ROBIN = "set_round_robin"      # round-robin on arrival, per department
    VIEW_LOAD = "view_load"                  # open tickets per handler
    VIEW_HANDLER_STATS = "view_handler_stats"  # per-handler figures, never to other handlers
    SEARCH = "search"                        # tracking code and words
    SEARCH_BY_PHONE = "search_by_phone"      # the caller's number, through the blind index
    VIEW_TEMPLATES = "view_templates"        # answer templates: list and fill for a ticket
    MANAGE_TEMPLATES = "manage_templates"
    VIEW_NOTIFICATIONS = "view_notifications"  # one's own SLA alerts and mail preferences


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
    Action.TAKE: frozenset({Role.HANDLER}),
    Action.ASSIGN: _SUPERVISORS | {Role.HANDLER},
    Action.BULK_ASSIGN: _SUPERVISORS,
    Action.SET_AVAILABILITY: frozenset({Role.HANDLER}),
    Action.SET_ROUND_ROBIN: _SUPERVISORS,
    Action.VIEW_LOAD: _SUPERVISORS,
    Action.VIEW_HANDLER_STATS: _SUPERVISORS,
    Action.SEARCH: _STAFF,
    Action.SEARCH_BY_PHONE: frozenset({Role.OPERATOR}),
    Action.VIEW_TEMPLATES: _STAFF,
    Action.MANAGE_TEMPLATES: frozenset({Role.ADMIN}),
    Action.VIEW_NOTIFICATIONS: _STAFF,
}


def allowed(role: str, action: Action) -> bool:
    return role in PERMISSIONS[action]


def roles_for(action: Action) -> tuple[Role, ...]:
    """In the order of `Role`, for messages and the OpenAPI document."""
    return tuple(r for r in Role if r in PERMISSIONS[action])
