"""The dashboard's volume: reports per day and per category over a window (two `$group`
aggregations, only counts leave the store). The pages' ticket queries are in
services.tracker.tickets.repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.database import Database

from services.tracker.store import TICKETS


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
