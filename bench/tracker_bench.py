"""Tracker benchmarks on the embedded stack, measured side by side in one run.

1. Ticket creation from events: classified events published to Kafka, consumed by the
   tracker's worker, one ticket each; beside it the store's raw insert_one rate of the same
   ticket documents. Prints tickets/s and the ratio.
2. Monitor sweep: one sweep over 1,000,000 open tickets of which 1,000 are due, beside one over
   10,000 open with the same 1,000 due, alternating rounds. The sweep reads an index on the
   next check instant, so the two times should be close (ratio near 1).

    python -m bench.tracker_bench            (BENCH_OPEN_LARGE=1000000 by default)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import MongoClient

from services.classifier.corpus import load_split
from services.classifier.model import NOT_A_REPORT
from services.tracker.config import load_config
from services.tracker.monitor import sweep
from services.tracker.store import ALERTS, TICKETS, init_db
from services.tracker.tickets.service import create_many
from services.tracker.worker import run_worker
from shared.clock import ManualClock, system_clock
from shared.devstack import EmbeddedStack
from shared.events import ReportClassifiedV2, encode_event
from shared.kafka import Outgoing, ensure_topics, make_producer, send_and_wait
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED

EVENTS = int(os.environ.get("BENCH_EVENTS", "3000"))
OPEN_LARGE = int(os.environ.get("BENCH_OPEN_LARGE", "1000000"))
OPEN_SMALL = 10_000
DUE = 1_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in the city


CORPUS = load_split("validation")


def create_from_classified(**kw: Any) -> tuple[dict, bool]:
    return create_many(events=[kw.pop("event")], **kw)[0]


def event(i: int, at: datetime, *, urgent: bool = False) -> ReportClassifiedV2:
    """Realistic variety: the validation corpus's texts, categories and districts in turn."""
    example = CORPUS[i % len(CORPUS)]
    rid = str(ObjectId())
    category, triage = example.category, {}
    if category == NOT_A_REPORT:  # as the classifier sends it: a real category, held for triage
        category, triage = "admin_services", dict(needs_triage=True, outcome=NOT_A_REPORT,
                                                  triage_reason=NOT_A_REPORT)
    return ReportClassifiedV2(**{
        "event_id": f"{rid}:classified:bench", "occurred_at": at, "report_id": rid,
        "tracking_code": f"HCM-2026-{i:07d}", "channel": "app", "description": example.text,
        "submitted_at": at, "category": category, "confidence": 0.91,
        "top3": [(category, 0.91)], "urgent": urgent, "district": example.district,
        "needs_triage": False, "model_version": "bench", **triage})


def creation(settings: Settings, client: MongoClient) -> None:
    config = load_config(settings)
    db = client[f"bench_create_{uuid.uuid4().hex[:6]}"]
    init_db(db)
    events = [event(i, START) for i in range(EVENTS)]

    # raw: the same ticket documents, insert_one each, no Kafka and no tracker logic
    scratch = client[f"bench_scratch_{uuid.uuid4().hex[:6]}"]
    init_db(scratch)
    docs = []
    for e in events[:EVENTS]:
        ticket, _ = create_from_classified(db=scratch, config=config, event=e, now=START)
        docs.append(ticket)
    raw_db = client[f"bench_raw_{uuid.uuid4().hex[:6]}"]
    init_db(raw_db)
    started = time.perf_counter()
    for doc in docs:
        raw_db[TICKETS].insert_one(doc)
    raw_rate = len(docs) / (time.perf_counter() - started)

    producer = make_producer(settings)
    send_and_wait(producer, [Outgoing(REPORTS_CLASSIFIED, e.report_id.encode(), encode_event(e))
                             for e in events], timeout_s=60)
    producer.close()
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(stop,), kwargs=dict(
        settings=settings, db=db, config=config, clock=system_clock,
        group_id=f"bench-{uuid.uuid4().hex[:6]}"))
    worker.start()
    # the clock starts at the first batch of tickets, so the consumer group's join is not
    # counted; nor is that batch, stored before the clock started
    while (first := db[TICKETS].estimated_document_count()) == 0:
        time.sleep(0.01)
    started = time.perf_counter()
    while db[TICKETS].estimated_document_count() < EVENTS:
        time.sleep(0.25)  # a light poll: the store has one core, shared with the worker
    rate = (EVENTS - first) / (time.perf_counter() - started)
    stop.set()
    worker.join(30)
    print(f"ticket creation from Kafka events: {rate:,.0f} tickets/s "
          f"(store raw insert_one of the same documents: {raw_rate:,.0f}/s, "
          f"ratio {rate / raw_rate:.2f})")
    for name in (db.name, scratch.name, raw_db.name):
        client.drop_database(name)


def fill(db, config, *, open_count: int, due: list[dict]) -> None:
    """`open_count` open tickets: the due ones plus copies of a ticket whose next check lies
    a month ahead."""
    init_db(db)
    db[TICKETS].insert_many(due)
    # event DUE: a tracking code none of the due tickets holds
    template, _ = create_from_classified(db=db, config=config, event=event(len(due), START),
                                         now=START)
    db[TICKETS].delete_one({"_id": template["_id"]})
    template["sla"]["next_check_at"] = START + timedelta(days=30)
    batch = []
    for i in range(open_count - len(due)):
        doc = dict(template, _id=str(ObjectId()), tracking_code=f"HCM-2025-{i:07d}")
        batch.append(doc)
        if len(batch) == 5000:
            db[TICKETS].insert_many(batch, ordered=False)
            batch = []
    if batch:
        db[TICKETS].insert_many(batch, ordered=False)


def reset(db, due_ids: list[str], due_at: datetime) -> None:
    db[ALERTS].delete_many({})
    db[TICKETS].update_many({"_id": {"$in": due_ids}},
                            {"$set": {"alerted": [], "sla.next_check_at": due_at}})


def sweeps(settings: Settings, client: MongoClient) -> None:
    config = load_config(settings)
    # 1,000 urgent tickets whose first-response warning falls due 46 min after START
    scratch = client[f"bench_due_{uuid.uuid4().hex[:6]}"]
    init_db(scratch)
    due = [create_from_classified(db=scratch, config=config, event=event(i, START, urgent=True),
                                  now=START)[0] for i in range(DUE)]
    client.drop_database(scratch.name)
    due_at = min(t["sla"]["next_check_at"] for t in due)
    due_ids = [t["_id"] for t in due]
    dbs = {}
    for label, count in (("small", OPEN_SMALL), ("large", OPEN_LARGE)):
        db = client[f"bench_sweep_{label}_{uuid.uuid4().hex[:6]}"]
        started = time.perf_counter()
        fill(db, config, open_count=count, due=[dict(t) for t in due])
        print(f"  filled {count:,} open tickets in {time.perf_counter() - started:.0f} s",
              flush=True)
        dbs[label] = db
    now = ManualClock(START + timedelta(minutes=50))
    times: dict[str, list[float]] = {"small": [], "large": []}
    claimed: dict[str, set[int]] = {"small": set(), "large": set()}
    for _ in range(ROUNDS):
        for label, db in dbs.items():
            reset(db, due_ids, due_at)
            started = time.perf_counter()
            result = sweep(db=db, config=config, now=now(), limit=DUE)
            times[label].append(time.perf_counter() - started)
            assert result.examined == DUE, result  # the due ones, nothing else
            claimed[label].add(result.claimed)
    # some categories have shorter targets: they reach several levels; the same in both
    assert claimed["small"] == claimed["large"] and len(claimed["small"]) == 1, claimed
    small, large = statistics.median(times["small"]), statistics.median(times["large"])
    print(f"monitor sweep, {DUE:,} due: {OPEN_SMALL:,} open {small:.2f} s, "
          f"{OPEN_LARGE:,} open {large:.2f} s (median of {ROUNDS}, alternating): "
          f"ratio large/small {large / small:.2f}")
    for db in dbs.values():
        client.drop_database(db.name)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(Path(tmp))
        stack.start()
        try:
            settings = Settings.from_env({"APP_ENV": "test", "MONGO_URI": stack.store.uri,
                                          "KAFKA_BOOTSTRAP": stack.broker.bootstrap})
            ensure_topics(settings)
            client = MongoClient(stack.store.uri, tz_aware=True)
            creation(settings, client)
            sweeps(settings, client)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
