"""Group commit: each request hears its own outcome, duplicates included, and the writer
waits for company only when a request has announced itself."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pymongo.errors import DuplicateKeyError

from services.intake.batcher import InsertBatcher


def test_concurrent_inserts_share_batches_and_keep_their_own_outcome(db):
    db.items.create_index("key", unique=True)
    batcher = InsertBatcher(db.items, max_batch=16, max_wait_s=0.01)

    def insert(i: int) -> str:
        try:
            batcher.insert({"_id": i, "key": f"k{i % 10}"})
            return "ok"
        except DuplicateKeyError:
            return "duplicate"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(insert, range(40)))
    assert outcomes.count("ok") == 10 and outcomes.count("duplicate") == 30
    assert db.items.count_documents({}) == 10
    assert sorted(d["key"] for d in db.items.find()) == sorted(f"k{i}" for i in range(10))


class CountingCollection:
    """The real collection, with a record of each insert_many batch's size."""

    def __init__(self, collection) -> None:
        self._collection = collection
        self.batches: list[int] = []

    def insert_many(self, docs, **kwargs):
        self.batches.append(len(docs))
        return self._collection.insert_many(docs, **kwargs)


def test_a_lone_request_is_written_without_waiting_for_company(db):
    items = CountingCollection(db.items)
    batcher = InsertBatcher(items, max_wait_s=30)
    started = time.monotonic()
    with batcher.expecting():
        batcher.insert({"_id": 1})
    assert time.monotonic() - started < 10
    assert items.batches == [1] and db.items.count_documents({}) == 1


def test_the_writer_holds_the_batch_for_an_announced_request(db):
    items = CountingCollection(db.items)
    batcher = InsertBatcher(items, max_wait_s=30)
    announced, inserted = threading.Event(), threading.Event()

    def slow_request() -> None:
        with batcher.expecting():
            announced.set()
            time.sleep(0.3)  # validating, encrypting...
            batcher.insert({"_id": "slow"})
        inserted.set()

    thread = threading.Thread(target=slow_request)
    thread.start()
    announced.wait(5)
    with batcher.expecting():
        batcher.insert({"_id": "fast"})
    thread.join(10)
    assert inserted.is_set()
    assert items.batches == [2]
    assert {d["_id"] for d in db.items.find()} == {"slow", "fast"}


def test_a_request_that_fails_before_inserting_releases_the_writer(db):
    items = CountingCollection(db.items)
    batcher = InsertBatcher(items, max_wait_s=30)
    announced, release = threading.Event(), threading.Event()

    def failing_request() -> None:
        try:
            with batcher.expecting():
                announced.set()
                release.wait(10)
                raise ValueError("invalid report")
        except ValueError:
            pass

    thread = threading.Thread(target=failing_request)
    thread.start()
    announced.wait(5)
    started = time.monotonic()
    release_later = threading.Timer(0.2, release.set)
    release_later.start()
    batcher.insert({"_id": "ok"})  # unannounced callers (web form) are written too
    thread.join(10)
    assert time.monotonic() - started < 10
    assert items.batches == [1] and db.items.count_documents({}) == 1


def test_announcing_twice_in_one_request_counts_once(db):
    items = CountingCollection(db.items)
    batcher = InsertBatcher(items, max_wait_s=30)
    with batcher.expecting(), batcher.expecting():
        batcher.insert({"_id": 1})
    started = time.monotonic()
    with batcher.expecting():  # would wait 30 s for a phantom request if the count leaked
        batcher.insert({"_id": 2})
    assert time.monotonic() - started < 10
    assert items.batches == [1, 1]
