"""A time-limited lease in MongoDB: of several replicas of a loop, one holds it and works.

`lease_until` is written on the injected clock, the one every replica shares. How often the
holder renews is counted on this process's own monotonic clock: a third of the duration of
wall time. (On a simulated clock that runs thousands of times faster than the wall, counting
in simulated time made `held()` renew on every round of its loop: thousands of store writes
an hour for nothing. A loop that must not overlap with another holder renews right before it
acts, with `acquire`, whatever `held` said.)"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock


class Lease:
    def __init__(self, collection: Collection, name: str, *, clock: Clock,
                 duration: timedelta = timedelta(seconds=15),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.collection = collection
        self.name = name
        self.clock = clock
        self.duration = duration
        self.monotonic = monotonic
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.renewed_at: float | None = None  # on `monotonic`

    def acquire(self) -> bool:
        """Take or renew the lease; False while another owner's lease is still running."""
        started = self.monotonic()
        now = self.clock()
        result = self.collection.update_one(
            {"_id": self.name,
             "$or": [{"owner": self.owner}, {"lease_until": {"$lt": now}},
                     {"owner": {"$exists": False}}]},
            {"$set": {"owner": self.owner, "lease_until": now + self.duration}})
        if not result.matched_count:
            try:
                self.collection.insert_one({"_id": self.name, "owner": self.owner,
                                            "lease_until": now + self.duration})
            except DuplicateKeyError:
                self.renewed_at = None
                return False
        self.renewed_at = started
        return True

    def renewed(self, started: float) -> None:
        """Another write of this owner's (conditional on `owner`, started at `started` on
        `monotonic`) set `lease_until` a duration ahead: as good as `acquire`."""
        self.renewed_at = started

    def held(self) -> bool:
        """Whether this owner holds the lease, without a write while its last renewal is
        recent (a third of the duration): for loops that ask every round."""
        if (self.renewed_at is not None
                and self.monotonic() - self.renewed_at < self.duration.total_seconds() / 3):
            return True
        return self.acquire()

    def release(self) -> None:
        self.renewed_at = None
        self.collection.update_one({"_id": self.name, "owner": self.owner},
                                   {"$set": {"lease_until": self.clock() - self.duration}})
