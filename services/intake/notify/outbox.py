"""The notification outbox: one document per (report, status sequence, channel).

Its `_id` is that triple, so enqueuing the same notification twice (a replayed status event,
two replicas, a crash before the offset commit) inserts nothing the second time. A sender
claims a row by moving its `due_at` past a lease under its own claim token; a crash leaves
the row due again when the lease runs out. States: pending -> sent | failed | cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.database import Database

from shared.mongo import insert_new

NOTIFICATIONS = "notifications"
PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"


def ensure_indexes(db: Database) -> None:
    db[NOTIFICATIONS].create_index([("state", ASCENDING), ("due_at", ASCENDING)])
    db[NOTIFICATIONS].create_index("report_id")


def row_id(report_id: ObjectId | str, seq: int, channel: str) -> str:
    return f"{report_id}:{seq}:{channel}"


def new_row(*, report_id: ObjectId, tracking_code: str, seq: int, channel: str, kind: str,
            lang: str, now: datetime, note: str | None = None,
            department: str | None = None) -> dict[str, Any]:
    """A pending notification. `note` is the handler's public note (already masked by the
    tracker, shown on the public tracking page): no contact detail is ever stored here."""
    return {"_id": row_id(report_id, seq, channel), "report_id": report_id,
            "tracking_code": tracking_code, "seq": seq, "channel": channel, "kind": kind,
            "lang": lang, "note": note, "department": department, "state": PENDING,
            "attempts": 0, "created_at": now, "due_at": now, "last_error": None}


def enqueue(db: Database, rows: list[dict[str, Any]]) -> int:
    """Insert the rows not there yet; return how many were new."""
    if not rows:
        return 0
    return len(rows) - len(insert_new(db[NOTIFICATIONS], rows))


def due(db: Database, *, now: datetime, limit: int) -> list[dict[str, Any]]:
    return list(db[NOTIFICATIONS].find({"state": PENDING, "due_at": {"$lte": now}})
                .sort("due_at", ASCENDING).limit(limit))


def next_due(db: Database) -> datetime | None:
    """When the earliest pending row falls due (None: nothing pending)."""
    row = db[NOTIFICATIONS].find_one({"state": PENDING}, {"due_at": 1},
                                     sort=[("due_at", ASCENDING)])
    return row["due_at"] if row else None


def claim(db: Database, row: dict[str, Any], *, token: str, until: datetime) -> bool:
    """Take the row for sending, unless another sender took it since it was read."""
    result = db[NOTIFICATIONS].update_one(
        {"_id": row["_id"], "state": PENDING, "due_at": row["due_at"]},
        {"$set": {"due_at": until, "claim": token}})
    return result.modified_count == 1


def finish(db: Database, row: dict[str, Any], *, token: str, fields: dict[str, Any],
           count_attempt: bool = True) -> bool:
    update: dict[str, Any] = {"$set": fields, "$unset": {"claim": ""}}
    if count_attempt:
        update["$inc"] = {"attempts": 1}
    result = db[NOTIFICATIONS].update_one({"_id": row["_id"], "claim": token}, update)
    return result.modified_count == 1


def failed(db: Database, *, limit: int = 100) -> list[dict[str, Any]]:
    """Notifications that will not be delivered, newest first, for the operators."""
    return list(db[NOTIFICATIONS].find({"state": FAILED}).sort("updated_at", -1).limit(limit))


def of_report(db: Database, report_id: ObjectId) -> list[dict[str, Any]]:
    return list(db[NOTIFICATIONS].find({"report_id": report_id}).sort("_id", ASCENDING))
