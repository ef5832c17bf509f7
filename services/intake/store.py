"""Intake's collections and their indexes: `init_db` is the one place they are created, run
by `python -m services.intake init-db` (make run, the deploy Job) and by the tests'
fixtures."""

from __future__ import annotations

from pymongo import DESCENDING
from pymongo.database import Database

REPORTS = "reports"
PHOTOS = "photos"
COUNTERS = "counters"
OUTBOX_STATE = "outbox_state"
# Reads for anything shown or published leave out what is stored encrypted: the personal
# fields and the citizen's key.
WITHOUT_SECRETS = {"pii": 0, "citizen_key": 0}


def init_db(db: Database) -> None:
    reports = db[REPORTS]
    reports.create_index("tracking_code", unique=True)
    # sparse, not partial: the embedded store answers lookups on a partial index with a full
    # scan (183 ms at 10,000 reports); a report without a key is left out of it either way
    existing = reports.index_information().get("idempotency_key_1", {})
    if "partialFilterExpression" in existing:
        reports.drop_index("idempotency_key_1")
    reports.create_index("idempotency_key", unique=True, sparse=True)
    reports.create_index([("submitted_at", DESCENDING)])
    db[PHOTOS].create_index("report_id")
    db["rate_limit_counts"].create_index("expires_at", expireAfterSeconds=0)  # past minutes go
