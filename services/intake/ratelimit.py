"""Per-client rate limit shared by every worker and replica, at almost no cost per request.

The counts live in MongoDB (one document per scope, client and minute), so N gunicorn workers
or replicas give one client the limit once, not N times. The window is a sliding-window
counter: the estimate at time t is `previous minute x (share of it still inside the last 60 s)
+ this minute`, which follows a moving window closely without one entry per hit.

What makes it cheap: a worker does not write every hit. While a client is far from its limit
(its estimate, as last read from the store plus what this worker has not written yet, stays
within half the limit), up to `local_cap = limit // 20` hits are counted in memory and
admitted at once; the next one writes them all with one `$inc` upsert, reads the client's
totals back, and is decided on them. Near the limit every hit is written and decided on the
store's total, as a per-hit limiter would; a client refused once is refused from memory until
its retry time, and a refused hit does not count.

What it costs in exactness: every worker and replica can admit at most `local_cap` hits the
others do not know of yet, so a client gets at most `limit + local_cap x workers` in a
minute (5% of the limit per worker); limits under 20 a minute are exact. `exact=True` writes
every hit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

COUNTS = "rate_limit_counts"
WINDOW_S = 60


@dataclass
class _Client:
    window: int  # the minute (epoch seconds // 60) the counts below belong to
    current: int = 0  # this minute's total, as last read from the store
    previous: int = 0  # the previous minute's total, as last read
    pending: int = 0  # hits this worker admitted and has not written yet
    refused_until: float = 0.0


class RateLimiter:
    def __init__(self, per_minute: int, *, db: Database, scope: str, exact: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._counts = db[COUNTS]
        self._scope = scope
        self._clock = clock
        self.local_cap = 0 if exact else per_minute // 20
        self._clients: dict[str, _Client] = {}
        self._window = 0
        self._lock = threading.Lock()

    def check(self, client: str) -> float | None:
        """Count a hit; return None if allowed, else seconds until the next one is."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        window = int(now // WINDOW_S)
        with self._lock:
            state = self._state(client, window)
            if now < state.refused_until:
                return state.refused_until - now
            state.pending += 1
            if (state.pending <= self.local_cap
                    and self._estimate(state, now) <= self.per_minute / 2):
                return None
            hits, state.pending = state.pending, 0
        current, previous = self._write(client, window, hits)
        with self._lock:
            state = self._state(client, window)
            state.current, state.previous = current, previous
            if self._estimate(state, now) <= self.per_minute + 1e-9:
                return None
            state.current -= 1  # a refused hit does not count against the client
        self._counts.update_one({"_id": self._id(client, window)}, {"$inc": {"count": -1}})
        with self._lock:
            state.refused_until = now + self._retry_after(state, now)
            return state.refused_until - now

    def _state(self, client: str, window: int) -> _Client:
        if window != self._window:
            # memory holds only the clients of this minute and the last
            self._window = window
            for old in [c for c, s in self._clients.items() if s.window < window - 1]:
                del self._clients[old]
        state = self._clients.get(client)
        if state is None:
            state = self._clients[client] = _Client(window)
        elif state.window != window:
            # a new minute: unwritten hits of the old one (at most local_cap) are dropped and
            # the old minute becomes the previous one
            state.previous = state.current if state.window == window - 1 else 0
            state.window, state.current, state.pending = window, 0, 0
        return state

    def _estimate(self, state: _Client, now: float) -> float:
        left = 1.0 - (now % WINDOW_S) / WINDOW_S
        return state.previous * left + state.current + state.pending

    def _retry_after(self, state: _Client, now: float) -> float:
        """Seconds until the estimate leaves room for one more hit."""
        into, room = now % WINDOW_S, self.per_minute - 1
        if state.current <= room and state.previous > 0:
            # this minute: the previous one's share falls until previous * left + current fits
            wait = (1.0 - (room - state.current) / state.previous) * WINDOW_S - into
        else:
            # next minute: this one becomes the previous, its share falls until it fits
            wait = WINDOW_S - into + (1.0 - room / max(state.current, 1)) * WINDOW_S
        return math.ceil(max(wait, 0.0) * 1000 + 1) / 1000

    def _write(self, client: str, window: int, hits: int) -> tuple[int, int]:
        """Add the hits to this minute's count (one upsert) and read this and the previous
        minute's totals (one query)."""
        this, last = self._id(client, window), self._id(client, window - 1)
        expires = datetime.fromtimestamp((window + 2) * WINDOW_S, UTC)
        try:
            self._counts.update_one({"_id": this}, {"$inc": {"count": hits},
                                                    "$setOnInsert": {"expires_at": expires}},
                                    upsert=True)
        except DuplicateKeyError:  # another worker created it at the same moment: add to it
            self._counts.update_one({"_id": this}, {"$inc": {"count": hits}})
        totals = {d["_id"]: d["count"] for d in self._counts.find({"_id": {"$in": [this, last]}})}
        return totals.get(this, 0), totals.get(last, 0)

    def _id(self, client: str, window: int) -> str:
        return f"{self._scope}|{client}|{window}"
