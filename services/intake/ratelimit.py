"""Per-client sliding-window rate limit.

Counts live in each worker's memory, so with N gunicorn workers a client can get up to N
times the limit; the load balancer's limit is the city-wide one. 0 disables the limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic,
                 max_clients: int = 100_000) -> None:
        self.per_minute = per_minute
        self._monotonic = monotonic
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_clients = max_clients

    def check(self, client: str) -> float | None:
        """Record a hit; return None if allowed, else seconds until the next one is."""
        if self.per_minute <= 0:
            return None
        now = self._monotonic()
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= self._max_clients:
                    self._evict(now)
                hits = self._hits[client] = deque()
            while hits and now - hits[0] >= 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.0, 60.0 - (now - hits[0]))
            hits.append(now)
            return None

    def _evict(self, now: float) -> None:
        for client in [c for c, h in self._hits.items() if not h or now - h[-1] >= 60.0]:
            del self._hits[client]
