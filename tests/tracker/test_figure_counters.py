"""The supervisor's counters (`stats/counters.py`): moved with every ticket change, equal to
their recomputation, cheap to read, rebuilt idempotently. The audit
(`test_figures_audit.py`) checks the same after every random step; these name the paths."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.tracker.monitor import sweep
from services.tracker.stats import counters
from services.tracker.stats.service import department_stats
from services.tracker.store import TICKETS
from services.tracker.tickets import service
from tests.tracker.test_honest_figures import handler_of, move


def served(tdb, **window) -> list[dict]:
    return counters.department_figures(db=tdb, **window)


def consistent(tdb, config) -> None:
    # any instant: the scan's spans start there and reach every ticket
    expected, hashes, _ = counters.recompute(tdb, tz=config.business.tz,
                                             now=datetime(2030, 1, 1, tzinfo=UTC))
    assert counters.stored(tdb) == expected
    assert {t["_id"]: t.get("figures_hash") for t in tdb[TICKETS].find({})} == hashes


def without_median(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "median_resolution_hours"} for r in rows]


def test_a_duplicate_finishes_in_the_counters_when_its_original_does(tdb, config, clock,
                                                                     make_ticket):
    original = make_ticket(category="traffic")
    copy = make_ticket(category="flooding", district=None)
    service.mark_duplicate(db=tdb, config=config, principal=handler_of(copy),
                           ticket_id=copy["_id"], original_id=original["_id"], note=None,
                           now=clock())
    assert [r["resolved"] for r in served(tdb)] == [0, 0]
    clock.advance(days=14)
    move(tdb, config, clock, original, "resolved")
    rows = {r["department"]: r for r in served(tdb)}
    assert rows[copy["department"]]["resolved"] == 1  # the duplicate, through its original
    assert rows[copy["department"]]["on_time_rate"] == 0.0
    consistent(tdb, config)
    move(tdb, config, clock, original, "reopened",
         principal=service.Principal(user="s", role="supervisor"))
    assert [r["resolved"] for r in served(tdb)] == [0, 0]  # the reopen takes both back
    consistent(tdb, config)


def test_the_sweep_counts_a_new_breach_once_even_with_two_monitors(tdb, config, clock,
                                                                   make_ticket):
    ticket = make_ticket(category="fire_safety", district=None, urgent=True)
    clock.advance(hours=2)
    stale = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    sweep(db=tdb, config=config, now=clock())
    assert counters.gauges(tdb).open_breaches == {ticket["department"]: 1}
    # a second monitor that read the ticket before the first one wrote it
    change = counters.Change(ticket=stale, updated={**stale, "sla": {
        **stale["sla"], "breached": True}}, filter={"_id": stale["_id"]},
        update={"$set": {"sla.breached": True}})
    assert counters.save_many(tdb, [change], tz=config.business.tz) == 0
    assert counters.gauges(tdb).open_breaches == {ticket["department"]: 1}
    consistent(tdb, config)


def test_a_change_that_loses_the_race_moves_no_counter(tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")
    tdb[TICKETS].update_one({"_id": ticket["_id"]}, {"$set": {"figures_hash": "other"}})
    before = counters.stored(tdb)
    try:  # the ticket as read before the other writer's change
        service.transition(db=tdb, config=config, principal=handler_of(ticket),
                           ticket_id=ticket["_id"], to_state="resolved", note=None,
                           public=False, now=clock(), ticket=ticket)
    except service.Conflict:
        pass
    else:
        raise AssertionError("the write should have lost")
    assert counters.stored(tdb) == before
    assert tdb[TICKETS].find_one({"_id": ticket["_id"]})["state"] == "assigned"


def test_a_replayed_event_is_counted_once(tdb, config, clock):
    from tests.tracker.conftest import classified

    event = classified(at=clock())
    service.create_many(db=tdb, config=config, events=[event], now=clock())
    results = service.create_many(db=tdb, config=config, events=[event, classified(
        at=clock())], now=clock())
    assert [created for _, created in results] == [False, True]
    assert sum(counters.gauges(tdb).open_tickets.values()) == 2
    consistent(tdb, config)


def test_windows_are_city_days_and_read_few_documents(tdb, config, clock, make_ticket):
    tz = config.business.tz
    target = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 23:30 on the 30th in the city
    clock.advance(seconds=(target - clock()).total_seconds())
    ticket = make_ticket(category="traffic")
    move(tdb, config, clock, ticket, "resolved")
    clock.advance(hours=1)  # 00:30 on 1 December in the city
    assert counters.window(clock(), 1, tz) == (date(2026, 12, 1).toordinal(),) * 2
    assert counters.figures_for_days(db=tdb, now=clock(), days=1, tz=tz) == []
    assert counters.figures_for_days(db=tdb, now=clock(), days=2, tz=tz)[0]["resolved"] == 1
    assert counters.figures_for_days(db=tdb, now=clock(), days=None, tz=tz)[0][
        "resolved"] == 1
    assert without_median(served(tdb)) == without_median(department_stats(db=tdb))


@given(first=st.integers(730_000, 740_000), length=st.integers(1, 3660))
def test_the_blocks_cover_a_window_exactly_and_few_of_them(first, length):
    last = first + length - 1
    blocks = counters.cover(first, last)
    size = counters.BASE
    days = [d for level, start in blocks for d in range(start, start + size ** level)]
    assert days == list(range(first, last + 1))
    assert all(start % size ** level == 0 for level, start in blocks)
    assert len(blocks) <= 2 * (size - 1) * counters.LEVELS + length // size ** counters.TOP


@given(st.lists(st.floats(0, 3e7, allow_nan=False), min_size=1, max_size=200))
def test_the_histogram_median_is_within_its_resolution(durations):
    histogram: dict[int, int] = {}
    for seconds in durations:
        b = counters.bucket(seconds)
        lo, hi = counters.bucket_bounds(b)
        assert lo <= seconds < hi
        histogram[b] = histogram.get(b, 0) + 1
    ordered = sorted(durations)
    middle = len(ordered) // 2
    exact = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    got = counters.histogram_median(histogram)
    assert abs(got - exact) <= exact * (2 ** (1 / 8) - 1) + 60


def test_rebuild_is_idempotent_and_repairs_lost_counters(tdb, config, clock, make_ticket,
                                                         settings):
    tickets = [make_ticket(category=c) for c in ("traffic", "flooding", "noise")]
    move(tdb, config, clock, tickets[0], "resolved")
    clock.advance(days=1)
    service.rate(db=tdb, config=config, principal=service.Principal(user="i", role="service"),
                 tracking_code=tickets[0]["tracking_code"], score=5, comment=None, now=clock())
    good = counters.stored(tdb)
    tdb[counters.FIGURE_COUNTERS].delete_many({"kind": "B0"})
    tdb[counters.FIGURE_COUNTERS].insert_one({"_id": "B0:1", "kind": "B0", "start": 1,
                                       "d": {"x": {"fin": 3}}})
    env = _env(settings)
    command = [sys.executable, "-m", "services.tracker", "rebuild-figures"]
    run = subprocess.run([*command, "--check"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=120).returncode == 0
    assert counters.stored(tdb) == good
    again = subprocess.run([*command, "--check"], capture_output=True, text=True,
                           env=env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 differ, 0 stale, 0 ticket hashes stale" in again.stdout


def _env(settings) -> dict[str, str]:
    import os

    return {**os.environ, "APP_ENV": "test", "MONGO_URI": settings.mongo_uri,
            "MONGO_DB": settings.mongo_db}


def test_legacy_tickets_without_a_hash_are_counted_by_a_rebuild(tdb, config, clock,
                                                                make_ticket):
    ticket = make_ticket(category="traffic")
    tdb[TICKETS].update_one({"_id": ticket["_id"]}, {"$unset": {"figures_hash": ""}})
    tdb[counters.FIGURE_COUNTERS].delete_many({})
    assert served(tdb) == []
    result = counters.rebuild(tdb, tz=config.business.tz, now=clock())
    assert result.hashes_set == 1 and result.rewritten > 0
    assert served(tdb)[0]["backlog"] == 1
    move(tdb, config, clock, ticket, "in_progress")
    consistent(tdb, config)
    again = counters.rebuild(tdb, tz=config.business.tz, now=clock())
    assert (again.rewritten, again.removed, again.hashes_set) == (0, 0, 0)


def test_the_metrics_read_two_documents(tdb, config, clock, make_ticket, monkeypatch):
    from services.tracker.app import ticket_gauges

    make_ticket(category="traffic")
    reads: list[str] = []
    original = tdb[counters.FIGURE_COUNTERS].__class__.find

    def counted(self, *args, **kwargs):
        reads.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(tdb[counters.FIGURE_COUNTERS].__class__, "find", counted)
    names = {s.name for family in ticket_gauges(tdb) for s in family.samples}
    assert "tracker_open_tickets" in names
    assert TICKETS not in reads  # no ticket is read for a scrape


# --- packed histograms (issue 19: a window's documents do not grow with the tickets) --------


@given(st.dictionaries(st.integers(0, counters.LAST_BUCKET),
                       st.integers(-(2 ** 31), 2 ** 31 - 1), max_size=60))
def test_a_packed_histogram_unpacks_to_what_was_packed(histogram):
    counted = {b: n for b, n in histogram.items() if n}
    blob = counters.pack(histogram)
    if not counted:
        assert blob is None
        return
    assert isinstance(blob, bytes)
    assert counters.unpack(blob) == counted
    # one value whose length is the range of buckets used, whatever the counts
    assert len(blob) == 2 + 4 * (max(counted) - min(counted) + 1)


def test_a_block_keeps_one_packed_histogram_per_department(tdb, config, clock, make_ticket):
    tickets = [make_ticket(category=c) for c in ("traffic", "traffic", "flooding", "noise")]
    for hours, ticket in zip((1, 5, 30, 200), tickets, strict=True):
        clock.advance(hours=hours)
        move(tdb, config, clock, ticket, "resolved")
    departments = {counters.key(t["department"]) for t in tickets}
    blocks = list(tdb[counters.FIGURE_COUNTERS].find({"kind": {"$regex": "^B"}}))
    assert blocks
    for doc in blocks:
        assert set(doc[counters.HISTOGRAM]) <= departments
        for name, counts in doc["d"].items():
            assert "h" not in counts  # no field per bucket
            assert len(counts) <= 7
        assert all(isinstance(blob, bytes) for blob in doc[counters.HISTOGRAM].values())
    consistent(tdb, config)
    # the median served is the histogram's: within its resolution of the exact one
    for scanned, got in zip(department_stats(db=tdb), served(tdb), strict=True):
        exact = scanned["median_resolution_hours"]
        assert abs(got["median_resolution_hours"] - exact) <= exact * (2 ** (1 / 8) - 1) + 0.02


def test_a_histogram_changed_meanwhile_runs_the_transaction_again(tdb, config, clock,
                                                                  make_ticket, monkeypatch):
    first, second = make_ticket(category="traffic"), make_ticket(category="traffic")
    move(tdb, config, clock, first, "resolved")
    collection = tdb[counters.FIGURE_COUNTERS].__class__
    original_find = collection.find
    stale: list[dict] = []

    def find(self, filter=None, projection=None, *args, **kwargs):  # noqa: A002
        cursor = original_find(self, filter, projection, *args, **kwargs)
        if self.name == counters.FIGURE_COUNTERS and projection and not stale and any(
                k.startswith(f"{counters.HISTOGRAM}.") for k in projection):
            # as another writer's earlier state: the histograms without the first ticket
            stale.extend(cursor)
            return [{**d, counters.HISTOGRAM: {}} for d in stale]
        return cursor

    monkeypatch.setattr(collection, "find", find)
    move(tdb, config, clock, second, "resolved")
    assert stale  # the stale read happened, and the write did not trust it
    monkeypatch.undo()
    consistent(tdb, config)
    assert [r["resolved"] for r in served(tdb)] == [2]


def test_finishes_at_the_same_time_are_all_counted(tdb, config, clock, make_ticket):
    import threading

    tickets = [make_ticket(category=c) for c in ("traffic", "flooding", "noise") * 3]
    clock.advance(hours=3)
    errors: list[BaseException] = []

    def finish(ticket: dict) -> None:
        try:
            move(tdb, config, clock, ticket, "resolved")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=finish, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    consistent(tdb, config)
    assert sum(r["resolved"] for r in served(tdb)) == len(tickets)


def test_one_process_runs_its_figure_transactions_one_at_a_time(tdb):
    """Two at once would write the same counter documents, and one of them would run again
    after a write conflict: the second waits for the first instead."""
    import threading

    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first(session) -> None:
        order.append("first in")
        inside.set()
        release.wait(10)
        order.append("first out")

    def second(session) -> None:
        order.append("second in")

    a = threading.Thread(target=counters._transaction, args=(tdb, first))
    a.start()
    assert inside.wait(10)
    b = threading.Thread(target=counters._transaction, args=(tdb, second))
    b.start()
    b.join(0.5)
    assert order == ["first in"]
    release.set()
    a.join(10)
    b.join(10)
    assert order == ["first in", "first out", "second in"]


def test_a_figure_write_waiting_longer_than_its_budget_fails_as_a_store_timeout(stack, tdb):
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ran: list[int] = []
    client = MongoClient(stack.store.uri, tz_aware=True, timeoutMS=50)
    counters._ONE_AT_A_TIME.acquire()
    try:
        with pytest.raises(PyMongoError):  # the API answers it as the store unavailable
            counters._transaction(client[tdb.name], lambda session: ran.append(1))
    finally:
        counters._ONE_AT_A_TIME.release()
        client.close()
    assert ran == []


def test_rebuild_repairs_a_wrong_packed_histogram(tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")
    move(tdb, config, clock, ticket, "resolved")
    good = counters.stored(tdb)
    name = counters.key(ticket["department"])
    tdb[counters.FIGURE_COUNTERS].update_one(
        {"kind": f"B{counters.TOP}"},
        {"$set": {f"{counters.HISTOGRAM}.{name}": counters.pack({3: 7})}})
    assert counters.stored(tdb) != good
    assert counters.rebuild(tdb, tz=config.business.tz, now=clock(), dry_run=True).rewritten == 1
    counters.rebuild(tdb, tz=config.business.tz, now=clock())
    assert counters.stored(tdb) == good


def test_a_store_that_keeps_aborting_fails_the_write_within_the_budget(stack, tdb):
    """pymongo's with_transaction runs a transaction again on every transient error for up
    to 120 s, past the client's timeoutMS; the counters' transaction is bounded by it."""
    import time

    from pymongo import MongoClient
    from pymongo.errors import OperationFailure, PyMongoError

    calls = []

    def aborted(session) -> None:
        calls.append(1)
        session.client[tdb.name][TICKETS].find_one({}, session=session)
        raise OperationFailure("the store aborted the transaction",
                               details={"errorLabels": ["TransientTransactionError"]})

    client = MongoClient(stack.store.uri, tz_aware=True, timeoutMS=400)
    started = time.monotonic()
    try:
        with pytest.raises(PyMongoError):
            counters._transaction(client[tdb.name], aborted)
    finally:
        client.close()
    took = time.monotonic() - started
    assert len(calls) > 1  # transient errors are still retried
    assert took < 0.4 * counters.TRANSACTION_TIMEOUTS + 5, took


# --- the rebuild's scan in pages (issue 19: the store never holds the whole scan) ----------

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
OFFSETS = st.one_of(st.none(), st.just("missing"),
                    st.integers(-20 * 365 * 86_400, 400 * 86_400),   # seconds from NOW
                    st.sampled_from([0, -1, 1, -86_400, -86_401]))


@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offsets=st.lists(OFFSETS, max_size=40), target=st.integers(2, 8))
def test_the_rebuilds_pages_read_every_ticket_once(tdb, offsets, target):
    """Every ticket is in a page, whatever its `updated_at` (none, far past, future, at the
    boundaries of the first span), and those changed before `now` in one page only."""
    tdb[TICKETS].delete_many({})
    docs = []
    for i, offset in enumerate(offsets):
        doc: dict = {"_id": f"t{i:03d}", "tracking_code": f"T-{i}"}
        if offset != "missing":
            doc["updated_at"] = None if offset is None else NOW + timedelta(seconds=offset)
        docs.append(doc)
    if docs:
        tdb[TICKETS].insert_many(docs)
    pages = list(counters.ticket_pages(tdb, {"updated_at": 1}, now=NOW, target=target))
    read = [t["_id"] for page in pages for t in page]
    assert set(read) == {d["_id"] for d in docs}
    once = [d["_id"] for d in docs if d.get("updated_at") is None
            or d["updated_at"].replace(tzinfo=UTC) < NOW]
    assert all(read.count(i) == 1 for i in once)


# --- fewer store operations per change (issue 19 part 3) -----------------------------------


def _counting_duplicate_lookups(tdb, monkeypatch) -> list[dict]:
    collection = tdb[TICKETS].__class__
    original_find = collection.find
    lookups: list[dict] = []

    def find(self, filter=None, *args, **kwargs):  # noqa: A002
        if self.name == TICKETS and isinstance(filter, dict) and "duplicate_of" in filter:
            lookups.append(filter)
        return original_find(self, filter, *args, **kwargs)

    monkeypatch.setattr(collection, "find", find)
    return lookups


def test_a_ticket_never_marked_original_skips_the_lookup_of_its_duplicates(
        tdb, config, clock, make_ticket, monkeypatch):
    ticket, other = make_ticket(category="traffic"), make_ticket(category="traffic")
    lookups = _counting_duplicate_lookups(tdb, monkeypatch)
    move(tdb, config, clock, ticket, "in_progress")
    move(tdb, config, clock, ticket, "resolved")
    assert lookups == []
    service.mark_duplicate(db=tdb, config=config, principal=handler_of(other),
                           ticket_id=other["_id"], original_id=ticket["_id"], note=None,
                           now=clock())
    assert tdb[TICKETS].find_one({"_id": ticket["_id"]})["has_duplicates"] is True
    move(tdb, config, clock, ticket, "reopened",
         principal=service.Principal(user="s", role="supervisor"))
    assert lookups  # an original: its duplicates are looked up, and move with it
    monkeypatch.undo()
    consistent(tdb, config)


def test_an_original_read_before_its_duplicate_was_marked_is_a_conflict(
        tdb, config, clock, make_ticket):
    """The original's change read it unflagged, a mark came in between: writing the change
    without moving the new duplicate's figures would miscount, so it is refused."""
    original, copy = make_ticket(category="traffic"), make_ticket(category="traffic")
    stale = tdb[TICKETS].find_one({"_id": original["_id"]})
    service.mark_duplicate(db=tdb, config=config, principal=handler_of(copy),
                           ticket_id=copy["_id"], original_id=original["_id"], note=None,
                           now=clock())
    with pytest.raises(service.Conflict):
        service.transition(db=tdb, config=config, principal=handler_of(original),
                           ticket_id=original["_id"], to_state="resolved", note=None,
                           public=False, now=clock(), ticket=stale)
    consistent(tdb, config)
    move(tdb, config, clock, original, "resolved")  # read again: both finish
    consistent(tdb, config)
    assert [r["resolved"] for r in served(tdb)] == [2]


def test_a_finish_moves_each_counter_document_once(tdb, config, clock, make_ticket,
                                                   monkeypatch):
    """One update per counter document (its `$inc`s and its histogram's compare-and-set
    together), and a day is held by `LEVELS` blocks."""
    ticket = make_ticket(category="traffic")
    clock.advance(hours=2)
    collection = tdb[counters.FIGURE_COUNTERS].__class__
    original_bulk = collection.bulk_write
    written: list[str] = []

    def bulk_write(self, requests, *args, **kwargs):
        if self.name == counters.FIGURE_COUNTERS:
            written.extend(r._filter["_id"] for r in requests)
        return original_bulk(self, requests, *args, **kwargs)

    monkeypatch.setattr(collection, "bulk_write", bulk_write)
    move(tdb, config, clock, ticket, "resolved")
    monkeypatch.undo()
    assert sorted(written) == sorted(set(written))
    assert len(written) == 1 + counters.LEVELS  # `now` and the day's blocks
    consistent(tdb, config)
