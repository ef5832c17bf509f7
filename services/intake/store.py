"""Intake's collections and their indexes."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

REPORTS = "reports"
PHOTOS = "photos"
COUNTERS = "counters"
OUTBOX_PENDING = "outbox_pending"


def ensure_indexes(db: Database) -> None:
    reports = db[REPORTS]
    reports.create_index("tracking_code", unique=True)
    reports.create_index("idempotency_key", unique=True,
                         partialFilterExpression={"idempotency_key": {"$type": "string"}})
    reports.create_index(OUTBOX_PENDING, partialFilterExpression={OUTBOX_PENDING: True})
    reports.create_index([("submitted_at", DESCENDING)])
    reports.create_index([("service_code", ASCENDING), ("submitted_at", DESCENDING)])
    db[PHOTOS].create_index("report_id")
