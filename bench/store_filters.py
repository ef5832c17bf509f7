"""python -m bench.store_filters [ROUNDS]: the embedded store's CPU for a ticket write in a
figures transaction, with the old conditional filter (`_id`, `seq`, figures hash) against the
condition checked on the transaction's read and the write by `_id` alone
(`services/tracker/stats/counters.py: _update_unchanged`). Both run side by side on one store
with the tickets' indexes, alternating, on batches of 40 tickets and of one.

Then the same for the intake projector's batch of report updates: the ordered bulk write of
conditional updates it sent before (`{_id, ticket_seq: {$not: {$gte: seq}}}`,
`{_id, status: "received"}`) against one read by `_id` and the writes by `_id` alone in a
transaction (`services/intake/projector.py: apply_projections`), on one store with the
reports' indexes, on batches of 13 events (the month's mean), of 15 events for 5 reports (a
new ticket's verdict and two status events: one write each) and of one."""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from bench.simulate.machine import tree_cpu_s
from services.intake import projector
from services.intake.store import REPORTS
from services.intake.store import init_db as init_intake_db
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


REPORTS_N = 2_000
STATES = ("assigned", "in_progress", "resolved", "closed")


def report(i: int) -> dict[str, Any]:
    return {"tracking_code": f"HCM-2026-{i:06d}", "status": "received", "channel": "web",
            "district": "q3", "submitted_at": START + timedelta(minutes=i),
            "description": "Nước ngập sâu trước nhà, xe không qua được." * 8,
            "pii": {"name": b"x" * 64, "phone": b"x" * 48}, "citizen_key": b"k" * 48}


class Reports:
    """Batches of the projector's events over the reports: each report gets its verdict,
    then status events with growing seqs."""

    def __init__(self, db: Database, ids: list[Any]) -> None:
        self.db = db
        self.seq = dict.fromkeys(ids, 0)

    def events(self, ids: list[Any]) -> list[Any]:
        from shared.events import ReportClassifiedV2, TicketStatusChangedV1

        out: list[Any] = []
        for rid in ids:
            s = self.seq[rid]
            at = START + timedelta(minutes=s)
            if s == 0:
                out.append(ReportClassifiedV2(
                    event_id=f"{rid}:c", occurred_at=at, report_id=str(rid),
                    tracking_code="HCM-X", channel="web", description="Đường ngập",
                    submitted_at=at, category="flooding", confidence=0.9,
                    top3=[("flooding", 0.9)], urgent=False, district="q3",
                    needs_triage=False, model_version="bench"))
            else:
                out.append(TicketStatusChangedV1(
                    event_id=f"{rid}:{s}", occurred_at=at, ticket_id=f"t{rid}",
                    report_id=str(rid), tracking_code="HCM-X", seq=s, from_state=None,
                    to_state=STATES[s % 4], public_note="Đang xử lý" if s % 2 else None,
                    category="flooding", department="thoat_nuoc_do_thi",
                    expected_resolution_at=at + timedelta(days=2)))
            self.seq[rid] = s + 1
        return out

    def conditional(self, ids: list[Any]) -> None:
        """What the projector sent before: one ordered bulk write of conditional updates."""
        writes = []
        for event in self.events(ids):
            p = projector.projection(event)
            assert p is not None
            if hasattr(event, "seq"):
                filter_ = {"_id": p.report_id, "ticket_seq": {"$not": {"$gte": event.seq}}}
            else:
                filter_ = {"_id": p.report_id, "status": "received"}
            writes.append(UpdateOne(filter_, p.update))
        assert self.db[REPORTS].bulk_write(writes, ordered=True).modified_count == len(ids)

    def by_id(self, ids: list[Any]) -> None:
        events = self.events(ids)
        assert all(projector.apply_projections(
            self.db, [projector.projection(e) for e in events]))


def reports_side_by_side(client: MongoClient, store: Store, rounds: int) -> None:
    db = client["bench_intake"]
    init_intake_db(db)
    ids = db[REPORTS].insert_many([report(i) for i in range(REPORTS_N)]).inserted_ids
    reports = Reports(db, ids)
    rng = random.Random(22)
    assert store.proc is not None
    # (events, reports) per batch: one event per report; a new ticket's verdict and first
    # two status events together; one event
    for size, per_report in ((13, 1), (15, 3), (1, 1)):
        ways: dict[str, Callable[[list[Any]], None]] = {
            "conditional bulk write": reports.conditional,
            "read, then by _id in a transaction": reports.by_id}
        used = dict.fromkeys(ways, 0.0)
        n = rounds if size > 1 else rounds * 10
        for r in range(n):
            for name in (list(ways) if r % 2 else list(ways)[::-1]):
                batch = [rid for rid in rng.sample(ids, size // per_report)
                         for _ in range(per_report)]
                before = tree_cpu_s(store.proc.pid) or 0.0
                ways[name](batch)
                used[name] += (tree_cpu_s(store.proc.pid) or 0.0) - before
        old, new = used.values()
        print(f"{size:>2} projector event(s) per batch, {per_report} per report, {n} each: "
              + ", ".join(f"{k} {v / n * 1000:.1f} ms" for k, v in used.items())
              + f" of store CPU; ratio {old / new:.2f}")


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
        reports_side_by_side(client, store, rounds)
    finally:
        store.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
