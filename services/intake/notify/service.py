"""What the pages and APIs do with notifications: unsubscribe, list for operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from services.intake.notify import outbox
from services.intake.store import REPORTS


def unsubscribe(*, db: Database, report_id: ObjectId, now: datetime) -> str | None:
    """Stop every message about the report, pending ones included; the tracking code, or
    None for an unknown report. Doing it twice changes nothing."""
    report = db[REPORTS].find_one({"_id": report_id}, {"tracking_code": 1, "notify": 1})
    if report is None:
        return None
    if report.get("notify") and not report["notify"].get("unsubscribed_at"):
        db[REPORTS].update_one({"_id": report_id, "notify.unsubscribed_at": None},
                               {"$set": {"notify.unsubscribed_at": now}})
    db[outbox.NOTIFICATIONS].update_many(
        {"report_id": report_id, "state": outbox.PENDING},
        {"$set": {"state": outbox.CANCELLED, "last_error": "unsubscribed", "updated_at": now}})
    return report["tracking_code"]


def public_row(row: dict[str, Any]) -> dict[str, Any]:
    """A notification as staff see it: never the contact it went to."""
    return {"id": row["_id"], "tracking_code": row["tracking_code"], "kind": row["kind"],
            "channel": row["channel"], "state": row["state"], "attempts": row.get("attempts", 0),
            "last_error": row.get("last_error"), "created_at": row.get("created_at"),
            "sent_at": row.get("sent_at"), "due_at": row.get("due_at")}
