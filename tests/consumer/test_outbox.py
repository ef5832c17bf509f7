"""The shared outbox publisher on the embedded broker and store: entries are marked published
only after the broker acknowledged them, a refused send leaves them to the next round, and of
two replicas only the lease holder publishes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from pymongo.database import Database

from shared.clock import ManualClock, system_clock
from shared.kafka import Outgoing
from shared.lease import Lease
from shared.outbox import LeaseLost, OutboxPublisher, OutboxSpec, SimpleSource
from tests.helpers import running, wait_until


class Flagged(SimpleSource):
    """Documents with `pending: True`; the first `refuse` sends are too big for the producer."""

    def __init__(self, db: Database, topic: str, refuse: int = 0) -> None:
        self.db, self.topic, self.refuse = db, topic, refuse
        self.marked: list[str] = []

    def pending(self, limit: int) -> list[dict[str, Any]]:
        return list(self.db["entries"].find({"pending": True}).sort("_id", 1).limit(limit))

    def messages(self, entry: dict[str, Any]) -> list[Outgoing]:
        size = 2_000_000 if self.refuse else 10
        return [Outgoing(self.topic, entry["_id"].encode(), entry["_id"].encode().ljust(size))]

    def mark_published(self, entries: Sequence[dict[str, Any]]) -> None:
        self.marked += [e["_id"] for e in entries]
        self.db["entries"].update_many({"_id": {"$in": [e["_id"] for e in entries]}},
                                       {"$set": {"pending": False}})


def publisher(settings, db, source: Flagged, lease_name: str = "test") -> OutboxPublisher:
    return OutboxPublisher(
        OutboxSpec(name="test-outbox", sources=(source,), batch_size=7, idle_seconds=0.05,
                   max_backoff_s=0.5),
        settings=settings, lease=Lease(db["leases"], lease_name, clock=system_clock))


def published(lane, count: int, timeout: float = 30.0) -> list[bytes]:
    return [r.key for r in lane.read(lane.output, count, timeout=timeout)]


def test_entries_are_marked_only_after_the_broker_acknowledged_them(settings, db, lane):
    db["entries"].insert_many([{"_id": f"e{i:02d}", "pending": True} for i in range(20)])

    source = Flagged(db, lane.output, refuse=1)
    attempts: list[int] = []
    real = source.messages

    def messages(entry):
        if entry["_id"] == "e00":
            attempts.append(1)
            if len(attempts) > 1:
                source.refuse = 0
        return real(entry)

    source.messages = messages  # type: ignore[method-assign]
    with running(publisher(settings, db, source).run):
        assert wait_until(lambda: db["entries"].count_documents({"pending": True}) == 0, 60)
    assert len(attempts) == 2, "the refused batch was sent again"
    assert source.marked == [f"e{i:02d}" for i in range(20)], "each marked once, in order"
    keys = published(lane, 20)
    assert sorted(keys) == [f"e{i:02d}".encode() for i in range(20)]


def test_of_two_replicas_only_the_lease_holder_publishes(settings, db, lane):
    db["entries"].insert_many([{"_id": f"r{i:02d}", "pending": True} for i in range(10)])
    first, second = Flagged(db, lane.output), Flagged(db, lane.output)
    with running(publisher(settings, db, first).run, publisher(settings, db, second).run):
        assert wait_until(lambda: db["entries"].count_documents({"pending": True}) == 0, 60)
        db["entries"].insert_many([{"_id": f"s{i:02d}", "pending": True} for i in range(10)])
        assert wait_until(lambda: db["entries"].count_documents({"pending": True}) == 0, 60)
    assert [] in (first.marked, second.marked), (first.marked, second.marked)
    assert len(published(lane, 21, timeout=5)) == 20, "nothing published twice"


def test_a_lease_is_renewed_at_most_every_third_of_its_duration_by_held(db):
    clock = ManualClock(system_clock())
    wall = [0.0]  # the lease counts its renewals on this process's monotonic clock

    def lease() -> Lease:
        return Lease(db["leases"], "x", clock=clock, duration=timedelta(seconds=15),
                     monotonic=lambda: wall[0])

    def advance(seconds: float) -> None:
        clock.advance(seconds=seconds)
        wall[0] += seconds

    mine, other = lease(), lease()
    assert mine.held()
    until = db["leases"].find_one({"_id": "x"})["lease_until"]
    advance(4)
    assert mine.held() and db["leases"].find_one({"_id": "x"})["lease_until"] == until
    advance(2)
    assert mine.held() and db["leases"].find_one({"_id": "x"})["lease_until"] > until
    assert not other.held()
    advance(16)
    assert other.held() and not mine.acquire()


def lease_writes(mongo, db) -> int:
    """The store's own count of updates and inserts on the leases collection."""
    totals = mongo.admin.command("top")["totals"].get(f"{db.name}.leases", {})
    return sum(totals.get(kind, {}).get("count", 0) for kind in ("update", "insert"))


def test_a_busy_publisher_writes_its_lease_once_a_third_of_its_duration_not_per_batch(
        settings, db, lane, mongo):
    source = Flagged(db, lane.output)
    pub = publisher(settings, db, source)  # a lease of 15 s: renewed after 5 s
    pub.connect()
    try:
        assert pub.lease.acquire()  # as the loop's first round does
        before = lease_writes(mongo, db)
        for batch in range(10):
            db["entries"].insert_many([{"_id": f"b{batch}-{i}", "pending": True}
                                       for i in range(7)])
            assert pub.publish_once() == (7, True)
        # the old publisher renewed it before each of the 10 batches
        assert lease_writes(mongo, db) - before == 0
        assert len(published(lane, 70)) == 70
        # another replica that takes the lease (this one's expired) fences the next batch
        db["leases"].update_one({"_id": "test"}, {"$set": {"owner": "other"}})
        pub.lease.renewed_at = pub.lease.monotonic() - 5.0
        db["entries"].insert_one({"_id": "late", "pending": True})
        with pytest.raises(LeaseLost):
            pub.publish_once()
        assert source.marked[-1] != "late"
    finally:
        pub.disconnect()
