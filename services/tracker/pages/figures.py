"""The dashboard's figures, computed at most every 30 s per worker and served from memory.

Per-department statistics and the volume charts read every ticket of the window; on the
embedded store that is about 2.6 s for 10,000 tickets. A wall screen reloading every
15 s, or several supervisors, must not redo it each time: the first request computes, later
ones get the last snapshot at once, and a snapshot older than `max_age_s` is recomputed in a
background thread while the old one is still served (its time is shown on the page).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.tracker.pages.queries import Volume

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figures:
    days: int
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    volume: Volume
    computed_at: datetime


class FiguresCache:
    def __init__(self, max_age_s: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshots: dict[int, tuple[float, Figures]] = {}
        self._refreshing: set[int] = set()

    def get(self, days: int, compute: Callable[[], Figures]) -> Figures:
        with self._lock:
            entry = self._snapshots.get(days)
            stale = entry is not None and self._monotonic() - entry[0] > self.max_age_s
            if stale and days not in self._refreshing:
                self._refreshing.add(days)
                threading.Thread(target=self._refresh, args=(days, compute), daemon=True,
                                 name=f"dashboard-figures-{days}d").start()
        if entry is not None:
            return entry[1]
        return self._store(days, compute())

    def invalidate(self) -> None:
        with self._lock:
            self._snapshots.clear()

    def _store(self, days: int, figures: Figures) -> Figures:
        with self._lock:
            self._snapshots[days] = (self._monotonic(), figures)
        return figures

    def _refresh(self, days: int, compute: Callable[[], Figures]) -> None:
        try:
            self._store(days, compute())
        except Exception:  # keep serving the last snapshot; the next request retries
            log.exception("dashboard figures for %s days could not be computed", days)
        finally:
            with self._lock:
                self._refreshing.discard(days)
