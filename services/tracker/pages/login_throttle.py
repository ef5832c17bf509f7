"""Failed staff logins slow a password guesser down.

Five failures for one user name from one address within 15 minutes refuse that pair until
the window ends; fifty for one user name from anywhere refuse the name. Per pair first, so
that someone guessing from one address cannot lock the real user out from another. The
counts live in the store: every worker and replica sees the same ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.database import Database

from services.tracker.store import LOGIN_FAILURES

WINDOW = timedelta(minutes=15)
PER_ADDRESS = 5
PER_USER = 50


def _keys(user: str, address: str) -> dict[str, int]:
    name = user.strip().lower()
    return {f"pair:{name}|{address}": PER_ADDRESS, f"user:{name}": PER_USER}


def refused_until(*, db: Database, user: str, address: str, now: datetime) -> datetime | None:
    """When the pair (or the name) may try again, if it may not now."""
    limits = _keys(user, address)
    until = None
    for doc in db[LOGIN_FAILURES].find({"_id": {"$in": list(limits)}}):
        ends = doc["window_start"] + WINDOW
        if doc["count"] >= limits[doc["_id"]] and ends > now:
            until = max(until or ends, ends)
    return until


def record_failure(*, db: Database, user: str, address: str, now: datetime) -> None:
    for key in _keys(user, address):
        counted = db[LOGIN_FAILURES].update_one(
            {"_id": key, "window_start": {"$gt": now - WINDOW}}, {"$inc": {"count": 1}})
        if not counted.matched_count:  # the first failure, or the window has passed
            db[LOGIN_FAILURES].replace_one(
                {"_id": key}, {"count": 1, "window_start": now, "expires_at": now + WINDOW},
                upsert=True)


def forget(*, db: Database, user: str, address: str) -> None:
    """A successful login clears its pair (the name's count keeps running)."""
    db[LOGIN_FAILURES].delete_one({"_id": next(iter(_keys(user, address)))})
