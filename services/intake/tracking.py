"""Human tracking codes (HCM-2026-000123), unique across workers and replicas.

Each process reserves a block of numbers with one atomic increment and hands them out
locally, so issuing a code costs no write on the hot path. Codes rise within a process;
a crash leaves a gap, never a repeat.
"""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument
from pymongo.database import Database

from services.intake.store import COUNTERS


class TrackingCodes:
    def __init__(self, db: Database, *, prefix: str, timezone: str, block: int = 100) -> None:
        self._db = db
        self._prefix = prefix
        self._tz = ZoneInfo(timezone)
        self._block = block
        self._lock = threading.Lock()
        self._year: int | None = None
        self._next = 0
        self._last = -1

    def issue(self, now: datetime) -> str:
        year = now.astimezone(self._tz).year
        with self._lock:
            if year != self._year or self._next > self._last:
                self._reserve(year)
            number = self._next
            self._next += 1
        return f"{self._prefix}-{year}-{number:06d}"

    def _reserve(self, year: int) -> None:
        doc = self._db[COUNTERS].find_one_and_update(
            {"_id": f"tracking-{year}"},
            {"$inc": {"seq": self._block}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        self._year = year
        self._last = int(doc["seq"])
        self._next = self._last - self._block + 1
