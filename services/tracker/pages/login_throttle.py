"""Failed staff logins slow a password guesser down.

Five failures for one user name from one address within 15 minutes refuse that pair until
the window ends; fifty for one user name from anywhere refuse the name. Per pair first, so
that someone guessing from one address cannot lock the real user out from another. The
counts live in the store: every worker and replica sees the same ones.

Every attempt is counted (an atomic `$inc`) before its password is checked, and only the
first five of a window are checked: concurrent guesses cannot all slip in between a check
and a record. A success gives its attempt back and clears its pair.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.tracker.store import LOGIN_FAILURES

WINDOW = timedelta(minutes=15)
PER_ADDRESS = 5
PER_USER = 50


def _keys(user: str, address: str) -> dict[str, int]:
    name = user.strip().lower()
    return {f"pair:{name}|{address}": PER_ADDRESS, f"user:{name}": PER_USER}


def _count(db: Database, key: str, now: datetime) -> dict:
    """Add one to `key`'s count in the current window (a new window if the last one ended);
    return the document after the increment (its count is at least this attempt's rank)."""
    counts = db[LOGIN_FAILURES]
    counts.delete_one({"_id": key, "window_start": {"$lte": now - WINDOW}})
    update = {"$inc": {"count": 1},
              "$setOnInsert": {"window_start": now, "expires_at": now + WINDOW}}
    try:
        counts.update_one({"_id": key}, update, upsert=True)
    except DuplicateKeyError:  # a concurrent attempt created it first: count in it
        counts.update_one({"_id": key}, {"$inc": {"count": 1}})
    return counts.find_one({"_id": key}) or {"count": 1, "window_start": now}


def begin_attempt(*, db: Database, user: str, address: str, now: datetime) -> datetime | None:
    """Count a login attempt before its password is checked. None: it may be checked;
    otherwise when the pair (or the name) may try again."""
    until = None
    for key, limit in _keys(user, address).items():
        doc = _count(db, key, now)
        if doc["count"] > limit:
            ends = doc["window_start"] + WINDOW
            until = max(until or ends, ends)
    return until


def record_failure(*, db: Database, user: str, address: str, now: datetime) -> None:
    """Count a failure (for callers that did not count the attempt first)."""
    for key in _keys(user, address):
        _count(db, key, now)


def succeeded(*, db: Database, user: str, address: str) -> None:
    """A successful login clears its pair and gives its attempt back to the name."""
    pair, name = _keys(user, address)
    db[LOGIN_FAILURES].delete_one({"_id": pair})
    db[LOGIN_FAILURES].update_one({"_id": name, "count": {"$gt": 0}}, {"$inc": {"count": -1}})
