"""Who has a ticket open: one entry per (ticket, user) with a short expiry, renewed while the
page is open (by its live connection, or by loading the page without JavaScript) and removed
when the connection closes. Readers ignore expired entries, so the answer is right on the
injected clock whether or not the store's TTL sweep has run yet."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.database import Database

from services.tracker.store import VIEWERS

TTL = timedelta(seconds=45)


def _id(ticket_id: str, user: str) -> str:
    return f"{ticket_id}:{user}"


def touch(db: Database, *, ticket_id: str, user: str, now: datetime,
          ttl: timedelta = TTL) -> None:
    db[VIEWERS].update_one({"_id": _id(ticket_id, user)},
                           {"$set": {"expires_at": now + ttl},
                            "$setOnInsert": {"ticket_id": ticket_id, "user": user,
                                             "since": now}},
                           upsert=True)


def leave(db: Database, *, ticket_id: str, user: str) -> None:
    db[VIEWERS].delete_one({"_id": _id(ticket_id, user)})


def viewers(db: Database, *, ticket_id: str, now: datetime,
            without: str | None = None) -> list[str]:
    """The users who have the ticket open now, by name (`without`: the one asking)."""
    found = db[VIEWERS].find({"ticket_id": ticket_id}, {"user": 1, "expires_at": 1})
    return sorted({d["user"] for d in found
                   if d["expires_at"].replace(tzinfo=None) > now.replace(tzinfo=None)
                   and d["user"] != without})
