"""A time-limited lease in MongoDB: of several replicas of a loop, one holds it and works."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock


class Lease:
    def __init__(self, collection: Collection, name: str, *, clock: Clock,
                 duration: timedelta = timedelta(seconds=15)) -> None:
        self.collection = collection
        self.name = name
        self.clock = clock
        self.duration = duration
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.renewed_at: datetime | None = None

    def acquire(self) -> bool:
        """Take or renew the lease; False while another owner's lease is still running."""
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
        self.renewed_at = now
        return True

    def held(self) -> bool:
        """Whether this owner holds the lease, without a write while its last renewal is
        recent (a third of the duration): for loops that ask every round."""
        if self.renewed_at is not None and self.clock() - self.renewed_at < self.duration / 3:
            return True
        return self.acquire()

    def release(self) -> None:
        self.renewed_at = None
        self.collection.update_one({"_id": self.name, "owner": self.owner},
                                   {"$set": {"lease_until": self.clock() - self.duration}})
