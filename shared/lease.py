"""A time-limited lease in MongoDB: of several replicas of a loop, one holds it and works."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

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

    def acquire(self) -> bool:
        """Take or renew the lease; False while another owner's lease is still running."""
        now = self.clock()
        result = self.collection.update_one(
            {"_id": self.name,
             "$or": [{"owner": self.owner}, {"lease_until": {"$lt": now}}]},
            {"$set": {"owner": self.owner, "lease_until": now + self.duration}})
        if result.matched_count:
            return True
        try:
            self.collection.insert_one({"_id": self.name, "owner": self.owner,
                                        "lease_until": now + self.duration})
            return True
        except DuplicateKeyError:
            return False

    def release(self) -> None:
        self.collection.update_one({"_id": self.name, "owner": self.owner},
                                   {"$set": {"lease_until": self.clock() - self.duration}})
