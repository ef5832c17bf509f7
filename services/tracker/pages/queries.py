"""Read-only queries of the staff pages: reports per day and per category over a window (two
`$group` aggregations, only counts leave the store) and the live breach list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING
from pymongo.database import Database

from services.tracker.store import TICKETS
from shared.tickets import OPEN_STATES


@dataclass(frozen=True)
class Volume:
    days: list[tuple[date, int]]          # every day of the window, oldest first, zeros kept
    categories: list[tuple[str, int]]     # most reported first

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)


def window_days(now: datetime, days: int, tz: str) -> list[date]:
    today = now.astimezone(ZoneInfo(tz)).date()
    return [today - timedelta(days=i) for i in range(days - 1, -1, -1)]


def volume(*, db: Database, now: datetime, days: int, tz: str) -> Volume:
    calendar = window_days(now, days, tz)
    first = datetime.combine(calendar[0], datetime.min.time(), ZoneInfo(tz))
    match: dict[str, Any] = {"$match": {"created_at": {"$gte": first}}}
    per_day = {row["_id"]: row["n"] for row in db[TICKETS].aggregate([
        match,
        {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at",
                                              "timezone": tz}},
                    "n": {"$sum": 1}}}])}
    per_category = [(row["_id"], row["n"]) for row in db[TICKETS].aggregate([
        match, {"$group": {"_id": "$category", "n": {"$sum": 1}}}])]
    per_category.sort(key=lambda pair: (-pair[1], pair[0] or ""))
    return Volume(days=[(d, per_day.get(d.isoformat(), 0)) for d in calendar],
                  categories=per_category)


def ensure_indexes(db: Database) -> None:
    """The pages' own index: open tickets by state in deadline order (the triage queue and the
    breach list read it)."""
    db[TICKETS].create_index([("state", ASCENDING), ("queue_key", ASCENDING)])
    db[TICKETS].create_index([("state", ASCENDING), ("breach_at", ASCENDING)])


def live_breaches(*, db: Database, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Open tickets past a deadline, most overdue first, paused ones included when their
    deadline passed. `breach_at` is the instant the ticket is (or will be) an open breach,
    so this is live between the monitor's sweeps; one indexed query per open state (the
    embedded store will not use an index for `$in` with a range)."""
    found: list[dict[str, Any]] = []
    for state in OPEN_STATES:
        found.extend(db[TICKETS].find({"state": state, "breach_at": {"$lte": now}},
                                      {"history": 0}).sort("breach_at", ASCENDING).limit(limit))
    found.sort(key=lambda t: (t["breach_at"], t["_id"]))
    return found[:limit]


