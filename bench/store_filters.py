"""python -m bench.store_filters [ROUNDS]: the embedded store's CPU for a ticket write in a
figures transaction, with the old conditional filter (`_id`, `seq`, figures hash) against the
condition checked on the transaction's read and the write by `_id` alone
(`services/tracker/stats/counters.py: _update_unchanged`). Both run side by side on one store
with the tickets' indexes, alternating, on batches of 40 tickets and of one."""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database

from bench.simulate.machine import tree_cpu_s
from services.tracker.store import init_db
from shared.devstack.processes import Store, free_port

TICKETS = 2_000
START = datetime(2026, 11, 2, tzinfo=UTC)


def ticket(i: int) -> dict[str, Any]:
    return {"_id": f"t{i}", "seq": 1, "figures_hash": "h1", "has_duplicates": False,
            "state": "assigned", "department": f"d{i % 12}", "category": "flooding",
            "district": "quan_1", "created_at": START, "updated_at": START,
            "tracking_code": f"HCM-2026-{i:06d}", "queue_key": f"d{i % 12}|1|{i}",
            "breach_at": START + timedelta(hours=i % 50), "history": [{"seq": 1}] * 3,
            "description": "Nước ngập sâu trước nhà, xe không qua được." * 8}


class Tickets:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.seq = {f"t{i}": 1 for i in range(TICKETS)}

    def write(self, tid: str) -> tuple[dict[str, Any], dict[str, Any]]:
        s = self.seq[tid]
        return ({"_id": tid, "seq": s, "figures_hash": f"h{s}", "has_duplicates": False},
                {"$set": {"seq": s + 1, "figures_hash": f"h{s + 1}", "state": "in_progress",
                          "updated_at": START + timedelta(seconds=s),
                          "queue_key": f"x|{s}|{tid}", "breach_at": START + timedelta(hours=s)},
                 "$push": {"history": {"seq": s + 1, "to": "in_progress"}}})

    def conditional(self, session: ClientSession, ids: list[str]) -> None:
        for tid in ids:
            filter_, update = self.write(tid)
            assert self.db.tickets.update_one(filter_, update, session=session).matched_count

    def by_id(self, session: ClientSession, ids: list[str]) -> None:
        writes = [self.write(tid) for tid in ids]
        stored = {d["_id"]: d for d in self.db.tickets.find(
            {"_id": {"$in": ids}}, {"seq": 1, "figures_hash": 1, "has_duplicates": 1},
            session=session)}
        for filter_, update in writes:
            assert all(stored[filter_["_id"]].get(k) == v for k, v in filter_.items())
            assert self.db.tickets.update_one({"_id": filter_["_id"]}, update,
                                              session=session).matched_count


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 30
    work = Path(tempfile.mkdtemp(prefix="bench-filters-"))
    store = Store(free_port(), workdir=work, sync_on_commit=False)
    store.start()
    store.wait_ready()
    try:
        client = MongoClient(store.uri, tz_aware=True)
        db = client["bench"]
        init_db(db)
        db.tickets.insert_many([ticket(i) for i in range(TICKETS)])
        tickets = Tickets(db)
        rng = random.Random(19)
        assert store.proc is not None
        for size in (40, 1):
            ways: dict[str, Callable[[ClientSession, list[str]], None]] = {
                "conditional filter": tickets.conditional, "read, then by _id": tickets.by_id}
            used = dict.fromkeys(ways, 0.0)
            n = rounds if size > 1 else rounds * 10
            for r in range(n):
                for name in (list(ways) if r % 2 else list(ways)[::-1]):
                    ids = rng.sample(sorted(tickets.seq), size)
                    before = tree_cpu_s(store.proc.pid) or 0.0
                    with client.start_session() as session:
                        session.with_transaction(lambda s, f=ways[name], i=ids: f(s, i))
                    used[name] += (tree_cpu_s(store.proc.pid) or 0.0) - before
                    for tid in ids:
                        tickets.seq[tid] += 1
            old, new = used.values()
            print(f"{size:>2} ticket(s) per transaction, {n} each: "
                  + ", ".join(f"{k} {v / n * 1000:.1f} ms" for k, v in used.items())
                  + f" of store CPU; ratio {old / new:.2f}")
    finally:
        store.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
