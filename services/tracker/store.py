"""The tracker's collections and their indexes: `init_db` is the one place they are
created, run by `python -m services.tracker init-db` (make run, the deploy Job) and by the
tests' fixtures."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

TICKETS = "tickets"
ALERTS = "sla_alerts"
LEASES = "tracker_leases"
LOGIN_FAILURES = "staff_login_failures"
STAFF_SESSIONS = "staff_sessions"
FIGURE_COUNTERS = "figure_counters"
# the staff helpdesk (issue 20)
PRESENCE = "handler_presence"                # _id: user; available, turn, last_assigned_at
OWNER_SETTINGS = "owner_settings"            # _id: department; round_robin
TEMPLATES = "answer_templates"
NOTIFICATIONS = "staff_notifications"        # _id: event_id:user
ALERT_PREFS = "staff_alert_prefs"            # _id: user; e-mail (encrypted) and mode
VIEWERS = "ticket_viewers"                   # _id: ticket:user; who has the ticket open


def init_db(db: Database) -> None:
    tickets = db[TICKETS]
    _drop_partial(tickets, "sla.next_check_at_1")
    # the publisher's flag, before it tailed the change stream
    _drop(tickets, "unpublished_1")
    _drop_partial(db[ALERTS], "pending_1")
    tickets.create_index("tracking_code", unique=True)
    # the monitor's sweep reads only tickets coming due: its cost follows this index.
    # No partial indexes here: the embedded store answers queries on them with a full scan.
    tickets.create_index([("sla.next_check_at", ASCENDING)])
    tickets.create_index([("department", ASCENDING), ("state", ASCENDING),
                          ("queue_key", ASCENDING)])
    # the duplicate finder: a category and district's tickets of the last days (not on its
    # band keys: twelve index entries a ticket, rewritten by the embedded store on every
    # change of the ticket, for a lookup it answered slowly)
    _drop(tickets, "category_1_district_1_dup_keys_1")
    tickets.create_index([("category", ASCENDING), ("district", ASCENDING),
                          ("created_at", ASCENDING)])
    tickets.create_index([("state", ASCENDING), ("queue_key", ASCENDING)])
    # the breach lists: one range of `breach_at` (the state a residual), where one query per
    # open state read the compound index this replaces
    _drop(tickets, "state_1_breach_at_1")
    tickets.create_index([("breach_at", ASCENDING)])
    db[ALERTS].create_index("pending")
    db[ALERTS].create_index([("ticket_id", ASCENDING)])
    db[LOGIN_FAILURES].create_index("expires_at", expireAfterSeconds=0)  # old counts go
    db[STAFF_SESSIONS].create_index("expires_at", expireAfterSeconds=0)
    db[STAFF_SESSIONS].create_index("user")
    # the figures' counters (stats/counters.py): a window reads its blocks by kind and start
    db[FIGURE_COUNTERS].create_index([("kind", ASCENDING), ("start", ASCENDING)])
    # the duplicates whose figures move with their original
    tickets.create_index([("duplicate_of", ASCENDING), ("state", ASCENDING)])
    # owners: "my tickets" / "unassigned" queues, the per-handler figures
    tickets.create_index([("assignee", ASCENDING), ("state", ASCENDING),
                          ("queue_key", ASCENDING)])
    tickets.create_index([("department", ASCENDING), ("finished_at", ASCENDING)])
    # search: a caller's reports by the blind index of the number; the words index's catch-up
    tickets.create_index([("contact_index", ASCENDING)])
    tickets.create_index([("updated_at", ASCENDING)])
    db[TEMPLATES].create_index([("department", ASCENDING), ("title", ASCENDING)])
    db[NOTIFICATIONS].create_index([("user", ASCENDING), ("created_at", DESCENDING)])
    db[NOTIFICATIONS].create_index([("user", ASCENDING), ("read_at", ASCENDING)])
    db[NOTIFICATIONS].create_index([("email_state", ASCENDING)])
    # live pages: who has a ticket open (an expired entry is ignored before the sweep)
    db[VIEWERS].create_index([("ticket_id", ASCENDING)])
    db[VIEWERS].create_index("expires_at", expireAfterSeconds=0)


def _drop(collection: Collection, *names: str) -> None:
    """Indexes an earlier version created and nothing reads any more."""
    existing = collection.index_information()
    for name in names:
        if name in existing:
            collection.drop_index(name)


def _drop_partial(collection: Collection, *names: str) -> None:
    """Indexes created partial by an earlier version are replaced by plain ones."""
    existing = collection.index_information()
    for name in names:
        if "partialFilterExpression" in existing.get(name, {}):
            collection.drop_index(name)
