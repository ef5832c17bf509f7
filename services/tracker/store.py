"""The tracker's collections and their indexes."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

TICKETS = "tickets"
ALERTS = "sla_alerts"
LEASES = "tracker_leases"

OPEN_STATES = ("new", "triage", "assigned", "in_progress", "waiting_citizen", "reopened",
               "rejected")


def ensure_indexes(db: Database) -> None:
    tickets = db[TICKETS]
    tickets.create_index("tracking_code", unique=True)
    # the monitor's sweep reads only tickets coming due: its cost follows this index
    tickets.create_index([("sla.next_check_at", ASCENDING)],
                         partialFilterExpression={"sla.next_check_at": {"$type": "date"}})
    tickets.create_index([("department", ASCENDING), ("state", ASCENDING),
                          ("queue_key", ASCENDING)])
    tickets.create_index([("category", ASCENDING), ("district", ASCENDING),
                          ("dup_keys", ASCENDING)])
    tickets.create_index("unpublished", partialFilterExpression={"unpublished": True})
    db[ALERTS].create_index("pending", partialFilterExpression={"pending": True})
    db[ALERTS].create_index([("ticket_id", ASCENDING)])
