"""Group commit: each request hears its own outcome, duplicates included."""

from __future__ import annotations

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
