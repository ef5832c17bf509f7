"""Intake's collections and their indexes."""

from __future__ import annotations

from pymongo import DESCENDING
from pymongo.database import Database

REPORTS = "reports"
PHOTOS = "photos"
COUNTERS = "counters"
OUTBOX_STATE = "outbox_state"


def ensure_indexes(db: Database) -> None:
    reports = db[REPORTS]
    reports.create_index("tracking_code", unique=True)
    reports.create_index("idempotency_key", unique=True,
                         partialFilterExpression={"idempotency_key": {"$type": "string"}})
    reports.create_index([("submitted_at", DESCENDING)])
    db[PHOTOS].create_index("report_id")
