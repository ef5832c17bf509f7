"""Per-client rate limit shared by every worker and replica.

`limits`' moving window (a sliding log of hit times per client, like the window the citizens
were promised) in its MongoDB storage: the counts live in the store every process already
uses, so N gunicorn workers or replicas give one client the limit once, not N times. Each
hit is one `update_one` on `_id` (the moving window never calls `find_one_and_update`, which
the embedded store answers with a collection scan). 0 disables the limit.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.storage import MongoDBStorage
from limits.strategies import MovingWindowRateLimiter

WINDOWS = "rate_limit_windows"


class RateLimiter:
    def __init__(self, per_minute: int, *, storage: MongoDBStorage, scope: str) -> None:
        self.per_minute = per_minute
        self._scope = scope
        self._item = RateLimitItemPerMinute(max(per_minute, 1))
        self._limiter = MovingWindowRateLimiter(storage)

    def check(self, client: str) -> float | None:
        """Record a hit; return None if allowed, else seconds until the next one is."""
        if self.per_minute <= 0:
            return None
        if self._limiter.hit(self._item, self._scope, client):
            return None
        reset_at, _ = self._limiter.get_window_stats(self._item, self._scope, client)
        return max(0.0, reset_at - time.time())


class _MongoStorage(MongoDBStorage):
    def __del__(self) -> None:
        # limits' own __del__ reads `self.storage`, which connects (and creates indexes) when
        # nothing did yet: a worker or test that never counted a hit would block on it
        if self._storage is not None:
            self._storage.close()


def shared_storage(*, mongo_uri: str, database: str, **client_options: object) -> MongoDBStorage:
    """The `limits` storage on the service's own MongoDB database. Its client connects at the
    first hit, so a gunicorn worker gets its own (pymongo is not fork-safe)."""
    return _MongoStorage(mongo_uri, database_name=database,
                          counter_collection_name="rate_limit_counters",
                          window_collection_name=WINDOWS, **client_options)
