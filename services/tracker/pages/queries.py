"""The dashboard's volume: reports per day and per category over a window (from the figures'
counters, `stats/counters.py`). The pages' ticket queries are in
services.tracker.tickets.repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pymongo.database import Database

from services.tracker.stats import counters


@dataclass(frozen=True)
class Volume:
    days: list[tuple[date, int]]          # every day of the window, oldest first, zeros kept
    categories: list[tuple[str, int]]     # most reported first

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)


def window_days(now: datetime, days: int, tz: ZoneInfo) -> list[date]:
    today = now.astimezone(tz).date()
    return [today - timedelta(days=i) for i in range(days - 1, -1, -1)]


def volume(*, db: Database, now: datetime, days: int, tz: ZoneInfo) -> Volume:
    """From the per-day counters: one small document per day."""
    calendar = window_days(now, days, tz)
    per_day, per_category = counters.volume(db=db, first=calendar[0].toordinal(),
                                            last=calendar[-1].toordinal())
    categories = sorted(per_category.items(), key=lambda pair: (-pair[1], pair[0] or ""))
    return Volume(days=[(d, per_day.get(d.toordinal(), 0)) for d in calendar],
                  categories=categories)
