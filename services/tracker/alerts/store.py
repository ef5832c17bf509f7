"""Notifications and each person's alert preferences (e-mail encrypted at rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pymongo import DESCENDING
from pymongo.database import Database

from services.tracker.store import ALERT_PREFS, NOTIFICATIONS
from shared.crypto import FieldCipher
from shared.mongo import insert_new

Mode = Literal["each", "hourly", "none"]
MODES: tuple[str, ...] = ("each", "hourly", "none")



def preferences(db: Database, users: list[str]) -> dict[str, dict[str, Any]]:
    return {d["_id"]: d for d in db[ALERT_PREFS].find({"_id": {"$in": users}})}


def set_preferences(db: Database, *, user: str, email: str | None, mode: Mode,
                    cipher: FieldCipher, now: datetime) -> None:
    db[ALERT_PREFS].update_one({"_id": user}, {"$set": {
        "email": cipher.encrypt(email) if email else None, "mode": mode, "updated_at": now}},
        upsert=True)


def email_of(pref: dict[str, Any] | None, cipher: FieldCipher) -> str | None:
    token = (pref or {}).get("email")
    return cipher.decrypt(token) if token else None


def email_state(pref: dict[str, Any] | None) -> str:
    """How a new notification goes by mail: each (pending), hourly (digest), none (skip).
    Without an address, nothing is mailed; the default is each alert."""
    if not (pref or {}).get("email"):
        return "skip"
    mode = (pref or {}).get("mode", "each")
    return {"each": "pending", "hourly": "digest"}.get(mode, "skip")


def insert_notifications(db: Database, docs: list[dict[str, Any]]) -> int:
    """One per (alert, person): the id makes a replayed alert insert nothing."""
    if not docs:
        return 0
    return len(docs) - len(insert_new(db[NOTIFICATIONS], docs))


def unread_count(db: Database, user: str) -> int:
    return db[NOTIFICATIONS].count_documents({"user": user, "read_at": None})


def latest(db: Database, user: str, limit: int = 50) -> list[dict[str, Any]]:
    return list(db[NOTIFICATIONS].find({"user": user}).sort("created_at", DESCENDING)
                .limit(limit))


def mark_read(db: Database, *, user: str, notification_id: str | None, now: datetime) -> int:
    query: dict[str, Any] = {"user": user, "read_at": None}
    if notification_id is not None:
        query["_id"] = notification_id
    return db[NOTIFICATIONS].update_many(query, {"$set": {"read_at": now}}).modified_count


def exists(db: Database, *, user: str, notification_id: str) -> bool:
    return db[NOTIFICATIONS].find_one({"_id": notification_id, "user": user},
                                      {"_id": 1}) is not None
