"""The supervisor's figures and the tracker's /metrics with 1,000,000 tickets over two years,
beside 10,000 over the same two years, measured in alternating rounds in one run, on the
embedded store (SecantusDB, started as `make run` starts it).

Two ways of loading, both said in the output:
- the small database goes through the live path: the tickets are inserted by the
  repository's `insert_many_new` (the tracker's own insert, counters moved in the same
  transaction) and then a few hundred are finished, rated and reopened through the tickets
  service; `rebuild-figures --check` must then find nothing to change, so the counters the
  live path built equal those the rebuild computes;
- the large database is bulk-loaded: the same generated ticket documents (the repository's
  shape and `figures_hash`) go in with `insert_many` in batches of 5,000 (the indexes in
  place, a thread inserting while the next batch is generated), then `init_db` and the
  `rebuild-figures` command (a separate process: its time and peak memory are printed) build
  the indexes and the counters. For the load and the rebuild only, the store runs without
  `--sync-on-commit` and with a 4 GiB cache; it is restarted as `make run` starts it before
  anything is measured. The small database is loaded while the rebuild runs;
- the history control (`recent`) is loaded as the large one is, in the same steps: the
  same generator over the large database's last 90 days alone (`--recent-days`), at its
  density (the large count times those days' share of the two years' weights: the same
  tickets a day, hour and category mix, states by age).

The small-vs-large table is the requirement's comparison; the second table, large against
the history control over the requests whose window lies within the control's days, asks
whether a request's cost follows how much history there is (what the incremental counters
promise), the present being alike. The notes say where their contents still differ (old
tickets left open and breached exist only in the large one): each site's open breaches and
the counter documents each window reads.

The tickets follow the city's rhythm (weekdays and hours of `bench/simulate/world.py`, its
category mix with ~43% administrative procedures), states by age, 99% on time, ratings, 3%
duplicates of an earlier ticket. Times, through the tracker's WSGI interface (Flask's test
client: the server's work, no network): the dashboard with its figures recomputed (7, 30 and
90 days), its breach list alone, the full breach list's first page, the stats API over 30,
90 and 365 days and all time, the counters' read for 365 days, /metrics, and a handler's move
that finishes a ticket (a write moving the counters).

    python -m bench.figures_bench [LARGE] [--small 10000] [--samples 30] [--rounds 3]
        [--recent-days 90]           the history control's days
        [--data DIR]                 keep the databases in DIR and reuse them (make bench-1m)
        [--prepare load|rebuild]     only load the bulk databases (and build their counters)
    python -m bench.figures_bench --counters-only [LARGE]   (the counters of LARGE tickets,
        computed in memory, written without the tickets: the read cost alone)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import queue
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import MongoClient
from pymongo.database import Database

from bench.pages_bench import login, p95
from bench.simulate.world import CATEGORY_MIX, CITY, HOURLY, WEEKDAY
from services.classifier.corpus import load_split
from services.tracker.app import create_app as create_tracker
from services.tracker.config import TrackerConfig, load_config
from services.tracker.staff import Principal
from services.tracker.stats import counters
from services.tracker.stats.service import department_stats
from services.tracker.store import TICKETS, init_db
from services.tracker.tickets import repository, service
from shared.clock import ManualClock
from shared.devstack import Store, free_port
from shared.settings import REPO_ROOT, Settings

TARGET_MS, TARGET_RATIO = 300.0, 1.5
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # Tuesday 14:00 in the city
DAYS = 730
BATCH = 5000
LIVE_BATCH = 500
PROGRESS = 50_000
LARGE_DB = "bench_figures_large"
RECENT_DB = "bench_figures_recent"
RECENT_DAYS = 90
ALL_TIME = math.inf
SMALL_DB = "bench_figures_small"
LOAD_CACHE = "4G"
# the store replays its log at start: minutes with a few GiB written since its last checkpoint
STARTUP_S = 1800.0
DISTRICTS = ["q1", "q3", "q5", "q7", "q10", "binh_thanh", "go_vap", "thu_duc", "tan_binh"]
LIVE_MOVES = 300
CITIZEN = Principal(user="intake", role="service")
SUPERVISOR = Principal(user="s", role="supervisor")


def _hours(day: date) -> list[float]:
    """The city's hourly weights of a day, the hours from NOW on left out."""
    midnight = datetime.combine(day, datetime.min.time(), CITY)
    return [w if midnight + timedelta(hours=h) < NOW else 0.0 for h, w in enumerate(HOURLY)]


def day_weights(days: int = DAYS) -> list[tuple[date, float]]:
    """The `days` city days ending at NOW's, each with its share of the tickets by its
    weekday and its hours (before NOW only)."""
    today = NOW.astimezone(CITY).date()
    span = [today - timedelta(days=days - 1 - n) for n in range(days)]
    return [(day, WEEKDAY[day.weekday()] * sum(_hours(day))) for day in span]


def span_count(count: int, days: int) -> int:
    """The tickets of the last `days` days when `count` are spread over DAYS: the same
    tickets a day as the large database, day by day."""
    recent = sum(w for _, w in day_weights(days))
    return round(count * recent / sum(w for _, w in day_weights()))


def arrivals(rng: random.Random, count: int, *, days: int = DAYS) -> Iterator[datetime]:
    """`count` instants over the `days` city days ending at NOW, in order, with the city's
    rhythm: each day's share by its weekday, each hour's by the hour (before NOW only)."""
    weights = day_weights(days)
    total, seen, given = sum(w for _, w in weights), 0.0, 0
    for day, weight in weights:
        seen += weight
        n = round(count * seen / total) - given
        given += n
        midnight = datetime.combine(day, datetime.min.time(), CITY)
        picked = rng.choices(range(24), weights=_hours(day), k=n)
        moments = sorted(midnight + timedelta(hours=h, seconds=rng.uniform(0, 3599))
                         for h in picked)
        yield from (min(m, NOW).astimezone(UTC) for m in moments)


@dataclasses.dataclass
class Generator:
    """Tickets in filing order, as the repository stores them. Duplicates point to a recent
    finished ticket of an earlier batch (`settle` after each insert): originals are in the
    store when a duplicate is counted."""

    config: TrackerConfig
    count: int
    days: int = DAYS  # the tickets are filed in the last `days` days
    rng: random.Random = dataclasses.field(default_factory=lambda: random.Random(1022))
    pool: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    pending: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        corpus = load_split("validation")
        self.texts = [e.text for e in corpus][:200]
        self.categories = list(CATEGORY_MIX)
        self.weights = list(CATEGORY_MIX.values())
        self.by_id: dict[str, dict[str, Any]] = {}

    def tickets(self) -> Iterator[dict[str, Any]]:
        for i, created in enumerate(arrivals(self.rng, self.count, days=self.days)):
            ticket = self.ticket(i, created)
            counts = counters.contribution(ticket, self.by_id, self.config.business.tz)
            ticket["figures_hash"] = counters.digest(counts)
            yield ticket

    def settle(self) -> None:
        """The tickets yielded so far are stored: finished ones may now be originals."""
        self.pool = (self.pool + self.pending)[-500:]
        self.pending = []
        self.by_id = {t["_id"]: t for t in self.pool}

    def ticket(self, i: int, created: datetime) -> dict[str, Any]:
        rng = self.rng
        category = rng.choices(self.categories, self.weights)[0]
        district = rng.choice(DISTRICTS)
        department = self.config.routing.department(category, district)
        age = NOW - created
        still_open = 0.85 if age < timedelta(days=2) else 0.3 if age < timedelta(days=7) \
            else 0.0005
        answered = created + timedelta(hours=rng.uniform(0.2, 6))
        # the shape of the intake's ids (an ObjectId's hex: its first 8 digits the second it
        # was made, so ids sort by filing time), unique by their 64 random bits
        ticket_id = f"{int(created.timestamp()):08x}{rng.getrandbits(64):016x}"
        ticket: dict[str, Any] = {
            "_id": ticket_id, "report_id": ticket_id, "tracking_code": f"HCM-B-{i:08d}",
            "channel": rng.choice(["web", "app", "call_center"]),
            "description": rng.choice(self.texts), "district": district,
            "category": category, "department": department, "urgent": False,
            "started_at": created, "created_at": created, "duplicate_of": None,
            "rating": None, "finished_at": None, "finished_on_time": None,
            "address": None, "location": None, "classified_category": category,
            "confidence": 0.9, "top3": [[category, 0.9]], "model_version": "bench",
            "triage_reason": None, "danger": [], "dup_keys": [], "duplicate_candidates": [],
            "contact_index": [], "assignee": None,
            "history": [{"seq": 1, "at": created, "by": "system", "role": "admin",
                         "from": None, "to": "new"},
                        {"seq": 2, "at": created, "by": "system", "role": "admin",
                         "from": "new", "to": "assigned", "department": department}],
        }
        breached = False
        if rng.random() < still_open or answered > NOW:
            state = rng.choice(["assigned", "in_progress", "in_progress", "waiting_citizen"])
            breached = age > timedelta(days=10) or rng.random() < 0.02
            responses = [{"department": department, "started_at": created,
                          "responded_at": None if state == "assigned" else answered,
                          "on_time": None if state == "assigned" else rng.random() < 0.97}]
        else:
            finished = min(answered + timedelta(hours=rng.lognormvariate(3.0, 1.0)), NOW)
            state = "duplicate" if self.pool and rng.random() < 0.03 else \
                rng.choice(["closed"] * 7 + ["resolved"] * 3)
            ticket.update(finished_at=finished, finished_on_time=rng.random() < 0.99)
            responses = [{"department": department, "started_at": created,
                          "responded_at": answered, "on_time": rng.random() < 0.97}]
            if state == "duplicate":
                ticket["duplicate_of"] = rng.choice(self.pool)["_id"]
            elif state == "closed" and rng.random() < 0.7:
                ticket["rating"] = {"score": rng.choice([5, 5, 5, 5, 4, 4, 4, 3, 2, 1]),
                                    "comment": None, "at": finished}
            ticket["history"].append({"seq": 3, "at": finished, "by": "h", "role": "handler",
                                      "from": "assigned", "to": state,
                                      "note": "Đã xử lý", "public": True})
        ticket.update(state=state, first_responses=responses,
                      updated_at=ticket["finished_at"] or answered, seq=len(ticket["history"]),
                      alerted=[],
                      sla={"breached": breached, "next_check_at": None},
                      # breached: the deadline passed (at the latest now), as sla.breached says
                      breach_at=min(created + timedelta(days=5), NOW) if breached
                      else datetime.max,
                      queue_key=created + timedelta(days=5))
        if state in {"closed", "resolved"}:
            self.pending.append(ticket)
            del self.pending[:-500]
        return ticket


def _progress(n: int, started: float, what: str) -> None:
    if n % PROGRESS == 0:
        print(f"    {n:,} tickets {what} in {time.perf_counter() - started:.0f} s", flush=True)


def load_bulk(db: Database, config: TrackerConfig, count: int, *, days: int = DAYS) -> float:
    """Insert `count` generated tickets of the last `days` days with `insert_many` (the
    indexes of `init_db` in place), no counter moved; seconds. One thread inserts a batch
    while this one generates the next (the inserts' order is the batches'; a duplicate's
    original is in an earlier batch)."""
    init_db(db)
    started = time.perf_counter()
    batches: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def inserter() -> None:
        while (batch := batches.get()) is not None:
            try:
                if not failed:
                    db[TICKETS].insert_many(batch, ordered=False)
            except BaseException as error:  # noqa: BLE001 - reported by the generating thread
                failed.append(error)

    thread = threading.Thread(target=inserter, name="bulk-insert")
    thread.start()
    try:
        _insert_in_batches(config, count, BATCH, started, "generated", batches.put,
                           days=days)
    finally:
        batches.put(None)
        thread.join()
    if failed:
        raise failed[0]
    return time.perf_counter() - started


def _insert_in_batches(config: TrackerConfig, count: int, size: int, started: float,
                       label: str, insert: Callable[[list[dict[str, Any]]], Any], *,
                       days: int = DAYS) -> None:
    """Generate `count` tickets of the last `days` days and hand them to `insert` in batches
    of `size`."""
    generator = Generator(config, count, days)
    batch: list[dict[str, Any]] = []
    for n, ticket in enumerate(generator.tickets(), 1):
        batch.append(ticket)
        if len(batch) == size:
            insert(batch)
            generator.settle()
            batch = []
        _progress(n, started, label)
    if batch:
        insert(batch)


def load_live(db: Database, config: TrackerConfig, count: int) -> float:
    """Insert `count` generated tickets through the repository's insert (counters moved in
    the same transaction), then finish, rate and reopen a few hundred through the tickets
    service; seconds."""
    init_db(db)
    tz = config.business.tz
    started = time.perf_counter()

    def insert(batch: list[dict[str, Any]]) -> None:
        assert not repository.insert_many_new(db, batch, tz=tz)

    _insert_in_batches(config, count, LIVE_BATCH, started, "inserted (live path)", insert)
    rng = random.Random(19)
    now = NOW
    for i, ticket in enumerate(db[TICKETS].find({"state": "resolved"}, {
            "department": 1, "tracking_code": 1}).limit(LIVE_MOVES)):
        # a resolved ticket of any day reopened (its old day's counters go down), finished
        # again today, and rated by the citizen one time in two
        now += timedelta(minutes=1)
        handler = Principal(user="h", role="handler", department=ticket["department"])
        service.transition(db=db, config=config, principal=SUPERVISOR, ticket_id=ticket["_id"],
                           to_state="reopened", note="kiểm tra lại", public=False, now=now)
        service.transition(db=db, config=config, principal=handler, ticket_id=ticket["_id"],
                           to_state="resolved", note=None, public=False, now=now)
        if i % 2 == 0:
            service.rate(db=db, config=config, principal=CITIZEN,
                         tracking_code=ticket["tracking_code"], score=rng.randint(1, 5),
                         comment=None, now=now)
    return time.perf_counter() - started


def rebuild_command(settings: Settings, db_name: str, *, check: bool) -> tuple[str, float,
                                                                              float, int]:
    """`python -m services.tracker rebuild-figures [--check]` on this database: its output,
    seconds, peak memory (MiB) and exit code."""
    env = {**os.environ, "APP_ENV": "test", "MONGO_URI": settings.mongo_uri,
           "MONGO_DB": db_name}
    command = [sys.executable, "-m", "services.tracker", "rebuild-figures"]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([*command, *(["--check"] if check else [])], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
    return text, time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def store_memory(store: Store) -> str:
    """The store process's resident memory now and at its peak."""
    status = Path(f"/proc/{store.proc.pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return (f"store RSS {int(fields['VmRSS'].split()[0]) / 1024:,.0f} MiB, "
            f"peak {int(fields['VmHWM'].split()[0]) / 1024:,.0f} MiB")


def disk(path: Path) -> str:
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return f"{size / 2**30:.2f} GiB on disk"


@dataclasses.dataclass
class Site:
    name: str
    count: int
    db: Database
    requests: dict[str, Callable[[], Any]]
    after: dict[str, Callable[[], Any]] = dataclasses.field(default_factory=dict)  # untimed
    # the days of history a request's figures cover (ALL_TIME: all of it); absent: not a
    # window's figures (the open tickets, /metrics' gauges, a move)
    windows: dict[str, float] = dataclasses.field(default_factory=dict)
    times: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    # the supervisor's login again: the store's TTL sweep removes the session, whose expiry
    # follows the bench's clock (days behind the wall clock), at its first pass
    relogin: Callable[[], Any] = lambda: None


class Done:
    status_code = 200


def tickets_to_finish(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """The open tickets a handler finishes in the bench, alike at both sizes: not breached,
    the newest `limit`. The store returns the oldest first, and those were all breached at
    1,000,000 tickets (the 0.05% of old tickets left open) but few at 10,000: finishing a
    breached ticket also moves the breach map `bh:0`, so the two sizes measured different
    writes. One state at a time: the store reads `$in` of states by scanning every ticket."""
    candidates = [t for state in ("assigned", "in_progress", "reopened")
                  for t in db[TICKETS].find({"state": state}, {
                      "department": 1, "created_at": 1, "sla.breached": 1})
                  if not t["sla"]["breached"]]
    return sorted(candidates, key=lambda t: t["created_at"])[-limit:]


def site(name: str, count: int, db: Database, settings: Settings,
         config: TrackerConfig) -> Site:
    site_settings = dataclasses.replace(settings, mongo_db=db.name)
    clock = ManualClock(NOW)
    app = create_tracker(site_settings, clock=clock, config=config)
    supervisor = app.test_client()
    login(supervisor, "supervisor.minh")
    api = app.test_client()
    bearer = {"Authorization": "Bearer demo-supervisor"}
    cache = app.extensions["staff_pages_figures"]
    open_ones = tickets_to_finish(db)
    assert open_ones, "no open ticket to finish"
    print(f"  {name}: a handler finishes {len(open_ones)} open tickets in turn, not breached, "
          f"filed from {open_ones[0]['created_at']:%Y-%m-%d}", flush=True)
    finished: list[dict[str, Any]] = []
    tz = config.business.tz

    def dashboard(days: int) -> Callable[[], Any]:
        def request() -> Any:
            cache.invalidate()  # the figures computed for this request, not from the snapshot
            return supervisor.get(f"/staff/dashboard?days={days}")
        return request

    def stats(days: int | None) -> Callable[[], Any]:
        query = "" if days is None else f"?days={days}"
        return lambda: api.get(f"/api/v1/stats/departments{query}", headers=bearer)

    def finish() -> Any:
        ticket = open_ones.pop()
        handler = Principal(user="h", role="handler", department=ticket["department"])
        service.transition(db=db, config=config, principal=handler, ticket_id=ticket["_id"],
                           to_state="resolved", note=None, public=False, now=clock())
        finished.append(ticket)
        return Done()

    def reopen() -> None:  # untimed: the ticket is open again for a later sample
        ticket = finished.pop()
        service.transition(db=db, config=config, principal=SUPERVISOR, ticket_id=ticket["_id"],
                           to_state="reopened", note=None, public=False, now=clock())
        open_ones.insert(0, ticket)

    def counters_365() -> Any:
        counters.figures_for_days(db=db, now=NOW, days=365, tz=tz)
        counters.volume(db=db, first=counters.window(NOW, 365, tz)[0],
                        last=counters.window(NOW, 365, tz)[1])
        return Done()

    requests: list[tuple[str, float | None, Callable[[], Any]]] = [
        ("dashboard, 7 days", 7, dashboard(7)),
        ("dashboard, 30 days", 30, dashboard(30)),
        ("dashboard, 90 days", 90, dashboard(90)),
        ("dashboard's breach list alone (refreshed every 15 s)", None,
         lambda: supervisor.get("/staff/dashboard/breaches")),
        ("full breach list, first page of 50", None, lambda: supervisor.get("/staff/breaches")),
        ("stats API, 30 days", 30, stats(30)),
        ("stats API, 90 days", 90, stats(90)),
        ("stats API, 365 days", 365, stats(365)),
        ("stats API, all time", ALL_TIME, stats(None)),
        ("counters read, 365 days (figures + volume, no page)", 365, counters_365),
        ("/metrics", None, lambda: api.get("/metrics")),
        ("handler finishes a ticket (write + counters)", None, finish),
    ]
    return Site(name, count, db, {label: request for label, _, request in requests},
                after={"handler finishes a ticket (write + counters)": reopen},
                windows={label: days for label, days, _ in requests if days is not None},
                relogin=lambda: login(supervisor, "supervisor.minh"))


def measure(site: Site, samples: int) -> None:
    for name, request in site.requests.items():
        after = site.after.get(name, lambda: None)
        answer = request()  # warm-up, and a check that it works
        if answer.status_code == 302:
            site.relogin()
            answer = request()
        assert answer.status_code == 200, (name, answer.status_code)
        after()
        taken = 0
        while taken < samples:
            started = time.perf_counter()
            answer = request()
            elapsed = (time.perf_counter() - started) * 1000
            after()
            if answer.status_code == 302:  # logged out by the sweep: not a sample
                site.relogin()
                continue
            assert answer.status_code == 200, (name, answer.status_code)
            site.times.setdefault(name, []).append(elapsed)
            taken += 1


def check_small(db: Database, settings: Settings, config: TrackerConfig) -> str:
    """The counters the live path built equal the rebuild's (`rebuild-figures --check`
    changes nothing), and, but for the median, the figures served equal the scan of every
    ticket (the definition of issue 13); the scan's time is printed beside."""
    tz = config.business.tz
    text, seconds, _, code = rebuild_command(settings, db.name, check=True)
    assert code == 0 and "0 differ, 0 stale, 0 ticket hashes stale" in text, text
    started = time.perf_counter()
    scanned = department_stats(db=db, since=counters.window_start(NOW, 30, tz))
    scan_s = time.perf_counter() - started
    served = counters.figures_for_days(db=db, now=NOW, days=30, tz=tz)

    def strip(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "median_resolution_hours"} for r in rows]
    assert strip(served) == strip(scanned)
    note = (f"small: live-path counters = rebuild-figures --check ({text}; {seconds:.1f} s); "
            f"30-day figures = the scan of every ticket, which took {scan_s * 1000:.0f} ms")
    print("  " + note, flush=True)
    return note


@dataclasses.dataclass(frozen=True)
class Bulk:
    """A database bulk-loaded by `load_bulk` and counted by `rebuild-figures`: `count`
    tickets filed in the last `days` days."""

    name: str
    db: str
    count: int
    days: int = DAYS

    def marker(self, workdir: Path) -> Path:
        """The steps done (`loaded`, `rebuilt`) and their notes, which a later run reuses."""
        span = "" if self.days == DAYS else f"-{self.days}d"
        return workdir / f"{self.name}-{self.count}{span}.json"

    def described(self) -> str:
        span = "" if self.days == DAYS else \
            f" filed in the last {self.days} days (the large database's density)"
        return f"{self.name}: {self.count:,} tickets{span}"


def bulk_databases(large: int, recent_days: int) -> list[Bulk]:
    """The large database, and its history control: its last `recent_days` days alone."""
    return [Bulk("large", LARGE_DB, large),
            Bulk("recent", RECENT_DB, span_count(large, recent_days), recent_days)]


def prepare_bulk(workdir: Path, bulks: list[Bulk], config: TrackerConfig, *, small: int,
                 until: str = "rebuild") -> list[str]:
    """The bulk databases in `workdir`'s store, loaded and their counters built by
    `rebuild-figures`, unless an earlier run left them there (each one's marker says which
    steps are done); the notes of how they were made. For these steps only the store runs
    without `--sync-on-commit` and with a larger cache (`LOAD_CACHE`); the reads are measured
    after a restart in the mode `make run` uses."""
    states = {bulk: _read_marker(bulk.marker(workdir)) for bulk in bulks}
    pending = [bulk for bulk in bulks if not states[bulk].get("rebuilt")
               and not (until == "load" and states[bulk].get("loaded"))]
    if pending:
        store = Store(free_port(), workdir=workdir, sync_on_commit=False, cache_size=LOAD_CACHE)
        store.start()
        try:
            store.wait_ready(timeout=STARTUP_S)
            settings = Settings.from_env({"APP_ENV": "test", "MONGO_URI": store.uri})
            client = MongoClient(store.uri, tz_aware=True, connectTimeoutMS=600_000,
                                 serverSelectionTimeoutMS=600_000)
            for bulk in pending:
                if not states[bulk].get("loaded"):
                    load_step(bulk, states[bulk], client=client, store=store, config=config,
                              workdir=workdir)
            if until == "rebuild":
                rebuild_step(pending, states, client=client, store=store, settings=settings,
                             workdir=workdir, meanwhile=lambda: prepare_small(
                                 workdir, client, settings, config, small))
        finally:
            store.stop()
    return [note for bulk in bulks for note in states[bulk]["notes"]]


def _read_marker(marker: Path) -> dict[str, Any]:
    return json.loads(marker.read_text()) if marker.exists() else {"notes": []}


def load_step(bulk: Bulk, state: dict[str, Any], *, client: MongoClient, store: Store,
              config: TrackerConfig, workdir: Path) -> None:
    client.drop_database(bulk.db)
    print(f"{bulk.described()} bulk-inserted (store without --sync-on-commit, cache "
          f"{LOAD_CACHE}, for the load only)…", flush=True)
    seconds = load_bulk(client[bulk.db], config, bulk.count, days=bulk.days)
    state["notes"].append(
        f"{bulk.described()} bulk-inserted (insert_many, batches of {BATCH:,}, the "
        f"{len(client[bulk.db][TICKETS].index_information())} indexes of init_db in place; "
        f"the store without --sync-on-commit and with a {LOAD_CACHE} cache for the load) in "
        f"{seconds:.0f} s ({bulk.count / seconds:,.0f}/s); {store_memory(store)}, "
        f"{disk(workdir)}")
    print("  " + state["notes"][-1], flush=True)
    state["loaded"] = True
    bulk.marker(workdir).write_text(json.dumps(state))


def rebuild_step(bulks: list[Bulk], states: dict[Bulk, dict[str, Any]], *,
                 client: MongoClient, store: Store, settings: Settings, workdir: Path,
                 meanwhile: Callable[[], Any]) -> None:
    """`init_db` on each loaded database, then `rebuild-figures` on each in turn in a thread
    while `meanwhile` runs (the small database through the live path: the same store, the
    other core; its data does not depend on the store's mode)."""
    for bulk in bulks:
        db = client[bulk.db]
        started = time.perf_counter()
        init_db(db)  # the indexes of this version (a load by an earlier one kept)
        # tickets generated before the breach's instant was capped at NOW (a breach in
        # the future while sla.breached said true); none in a load of this version
        fixed = db[TICKETS].update_many({"breach_at": {"$gt": NOW, "$lt": datetime.max}},
                                        {"$set": {"breach_at": NOW}}).modified_count
        states[bulk]["notes"].append(f"{bulk.name}: init_db on the loaded tickets in "
                                     f"{time.perf_counter() - started:.0f} s ({fixed} breach "
                                     f"instants capped at now)")
        print("  " + states[bulk]["notes"][-1], flush=True)
    rebuilt: list[tuple[Bulk, tuple[str, float, float, int], str]] = []

    def rebuild_each() -> None:
        for bulk in bulks:
            rebuilt.append((bulk, rebuild_command(settings, bulk.db, check=False),
                            store_memory(store)))

    thread = threading.Thread(target=rebuild_each, name="rebuild-figures")
    thread.start()
    meanwhile()
    thread.join()
    assert len(rebuilt) == len(bulks), "rebuild-figures did not run on every database"
    for bulk, (text, seconds, peak, code), memory in rebuilt:
        assert code == 0, text
        state = states[bulk]
        state["notes"].append(f"{bulk.name}: counters built by `rebuild-figures` in "
                              f"{seconds:.0f} s, its peak memory {peak:,.0f} MiB, {memory}: "
                              f"{text}")
        print("  " + state["notes"][-1], flush=True)
        state["rebuilt"] = True
        bulk.marker(workdir).write_text(json.dumps(state))


def main(large: int, small: int, samples: int, rounds: int, data: Path | None = None,
         prepare: str | None = None, recent_days: int = RECENT_DAYS) -> int:
    workdir = data or Path(tempfile.mkdtemp(prefix="bench-figures-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = load_config(Settings.from_env({"APP_ENV": "test"}))
    bulks = bulk_databases(large, recent_days)
    try:
        notes = prepare_bulk(workdir, bulks, config, small=small, until=prepare or "rebuild")
        if prepare:
            return 0
        store = Store(free_port(), workdir=workdir)  # as `make run` starts it
        store.start()
        try:
            sites = measure_sites(store, workdir, bulks, small, samples, rounds, config, notes)
        finally:
            store.stop()
    finally:
        if data is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return report(*sites, notes=notes, recent_days=recent_days)


def prepare_small(workdir: Path, client: MongoClient, settings: Settings,
                  config: TrackerConfig, small: int) -> list[str]:
    """The small database through the live path and checked, unless an earlier step of
    this run or an earlier run left it (`small-COUNT.json`); its notes."""
    marker = workdir / f"small-{small}.json"
    if marker.exists():
        return list(json.loads(marker.read_text())["notes"])
    db = client[SMALL_DB]
    client.drop_database(db.name)
    print(f"Small: {small:,} tickets through the live path…", flush=True)
    seconds = load_live(db, config, small)
    notes = [f"small: {small:,} tickets inserted through the repository's insert (counters "
             f"in the same transaction), then {LIVE_MOVES} resolved ones reopened, resolved "
             f"again and half of them rated through the service, in {seconds:.0f} s"]
    print("  " + notes[-1], flush=True)
    notes.append(check_small(db, settings, config))
    marker.write_text(json.dumps({"notes": notes}))
    return notes


def measure_sites(store: Store, workdir: Path, bulks: list[Bulk], small: int, samples: int,
                  rounds: int, config: TrackerConfig, notes: list[str]
                  ) -> tuple[Site, Site, Site]:
    store.wait_ready(timeout=STARTUP_S)
    settings = Settings.from_env({"APP_ENV": "test", "MONGO_URI": store.uri,
                                  "RATE_LIMIT_PER_MINUTE": "0"})
    client = MongoClient(store.uri, tz_aware=True, connectTimeoutMS=600_000,
                         serverSelectionTimeoutMS=600_000)
    notes.append(f"store restarted as `make run` starts it (--sync-on-commit, default cache) "
                 f"for the reads: {store_memory(store)}")
    notes.extend(prepare_small(workdir, client, settings, config, small))
    large, recent = bulks
    sites = (site("small", small, client[SMALL_DB], settings, config),
             site("large", large.count, client[large.db], settings, config),
             site("recent", recent.count, client[recent.db], settings, config))
    notes.extend(contents(one, config.business.tz, recent_days=recent.days) for one in sites)
    for round_no in range(rounds):
        # each site in turn first: the order rotates by one a round
        for one in sites[round_no % 3:] + sites[:round_no % 3]:
            measure(one, samples // rounds or 1)
        print(f"  round {round_no + 1}/{rounds} done", flush=True)
    notes.append(f"after the rounds: {store_memory(store)}; the bench process's peak "
                 f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    return sites


def contents(one: Site, tz: ZoneInfo, *, recent_days: int) -> str:
    """What the site's reads find, where the databases differ in content: the open breaches
    (the breach lists' rows), the counter documents each window reads (blocks, and the
    volume's days) with their size, and the tickets filed in the control's days."""
    db = one.db.with_options(codec_options=_raw())
    breaches = sum(counters.gauges(one.db).open_breaches.values())
    breach_map = db[counters.FIGURE_COUNTERS].find_one({"_id": counters.BREACH_HOURS})
    read = []
    for days in (7, 30, 90, None):
        first, last = counters.window(NOW, days, tz) if days else (None, None)
        docs = counters._blocks(db, first, last)
        if days:
            docs += counters._volume_days(db, first, last)
        read.append(f"{f'{days} days' if days else 'all time'} {len(docs)} "
                    f"({sum(len(d.raw) for d in docs) / 1e3:.1f} kB)")
    first, last = counters.window(NOW, recent_days, tz)
    filed = sum(counters.volume(db=one.db, first=first, last=last)[0].values())
    return (f"{one.name}: {breaches:,} open breaches (`bh:0` "
            f"{len(breach_map.raw) / 1e3 if breach_map else 0:.1f} kB); counter documents a "
            f"window reads, blocks and volume days (BSON): {', '.join(read)}; "
            f"{filed:,} tickets filed in the last {recent_days} days")


def _line(first: Site, second: Site, name: str) -> tuple[dict[str, Any], str, float]:
    """A request's p50 and p95 at two sites (named by the sites) and their ratio (p50): as
    JSON, as table cells, and the ratio unrounded."""
    f_med, f_p95 = statistics.median(first.times[name]), p95(first.times[name])
    s_med, s_p95 = statistics.median(second.times[name]), p95(second.times[name])
    figures = {f"p50_{first.name}_ms": round(f_med, 1), f"p95_{first.name}_ms": round(f_p95, 1),
               f"p50_{second.name}_ms": round(s_med, 1),
               f"p95_{second.name}_ms": round(s_p95, 1),
               "ratio": round(s_med / f_med, 2), "samples": len(second.times[name])}
    return figures, (f"{f_med:.1f} ms | {f_p95:.1f} ms | {s_med:.1f} ms | {s_p95:.1f} ms | "
                     f"{s_med / f_med:.2f}"), s_med / f_med


def report(small: Site, large: Site, recent: Site, *, notes: list[str],
           recent_days: int) -> int:
    lines = [f"| request | p50, {small.count:,} | p95, {small.count:,} | p50, {large.count:,} "
             f"| p95, {large.count:,} | ratio (p50) | p95 < {TARGET_MS:.0f} ms, "
             f"ratio ≤ {TARGET_RATIO} |", "|---|---:|---:|---:|---:|---:|:---:|"]
    results: dict[str, Any] = {"small": small.count, "large": large.count, "notes": notes}
    for name in large.times:
        results[name], cells, ratio = _line(small, large, name)
        ok = p95(large.times[name]) < TARGET_MS and ratio <= TARGET_RATIO
        lines.append(f"| {name} | {cells} | {'yes' if ok else 'NO'} |")
    table = "\n".join(lines)
    control, results["history_control"] = history_table(recent, large, days=recent_days)
    print("\n" + "\n".join(notes) + "\n\n" + table + "\n\n" + control)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.md").write_text("\n".join(f"- {n}" for n in notes) + "\n\n" + table
                                    + "\n\n" + control + "\n", encoding="utf-8")
    (out / "figures.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def history_table(recent: Site, large: Site, *, days: int) -> tuple[str, dict[str, Any]]:
    """Large against its history control (the same density, `days` days of history): does a
    request's cost follow how much history there is? Requests whose window reaches past the
    control's history are marked, not compared."""
    lines = [f"History control: {large.count:,} tickets over {DAYS} days against their last "
             f"{days} days alone ({recent.count:,} tickets, the same tickets a day).", "",
             f"| request | p50, {recent.count:,} over {days} days | p95, {recent.count:,} "
             f"| p50, {large.count:,} over {DAYS} days | p95, {large.count:,} | ratio (p50) "
             f"| ratio ≤ {TARGET_RATIO} |", "|---|---:|---:|---:|---:|---:|:---:|"]
    results: dict[str, Any] = {"days": days, "recent": recent.count, "large": large.count}
    for name in large.times:
        figures, cells, ratio = _line(recent, large, name)
        beyond = large.windows.get(name, 0) > days
        verdict = f"window beyond the control's {days} days" if beyond else \
            "yes" if ratio <= TARGET_RATIO else "NO"
        results[name] = {**figures, "ratio": None if beyond else figures["ratio"]}
        lines.append(f"| {name} | {cells} | {verdict} |")
    return "\n".join(lines), results


def counters_only(large: int, small: int, samples: int, rounds: int) -> int:
    """The read cost alone: the counters of `small` and of `large` generated tickets
    (computed in memory with the same `contribution`, written without the tickets), and the
    reads the dashboard, the API and /metrics make of them, alternating. The figures read
    nothing else (the dashboard's breach list is an indexed query of open tickets, limit
    50)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-figures-"))
    store = Store(free_port(), workdir=workdir)
    store.start()
    sites = {}
    try:
        store.wait_ready()
        config = load_config(Settings.from_env({"APP_ENV": "test", "MONGO_URI": store.uri}))
        tz = config.business.tz
        client = MongoClient(store.uri, tz_aware=True)
        for count in (small, large):
            started = time.perf_counter()
            total: Counter = Counter()
            generator = Generator(config, count)
            for n, ticket in enumerate(generator.tickets(), 1):
                total.update(counters.contribution(ticket, generator.by_id, tz))
                if n % BATCH == 0:
                    generator.settle()
            db = client[f"bench_counters_{count}"]
            client.drop_database(db.name)
            init_db(db)
            counters.replace(db, counters.by_document(counters._nonzero(total)))
            size = sum(len(d.raw) for d in db.get_collection(
                counters.FIGURE_COUNTERS, codec_options=_raw()).find())
            print(f"  counters of {count:,} tickets: {time.perf_counter() - started:.0f} s, "
                  f"{db[counters.FIGURE_COUNTERS].estimated_document_count():,} documents, "
                  f"{size / 1e6:.1f} MB of BSON", flush=True)

            def days(n: int | None, db: Database = db) -> Callable[[], Any]:
                def read() -> Any:
                    counters.figures_for_days(db=db, now=NOW, days=n, tz=tz)
                    if n:
                        first, last = counters.window(NOW, n, tz)
                        counters.volume(db=db, first=first, last=last)
                return read
            sites[count] = Site(f"{count}", count, db, {
                "figures + volume, 7 days": days(7), "figures + volume, 30 days": days(30),
                "figures + volume, 90 days": days(90),
                "figures + volume, 365 days": days(365), "figures, all time": days(None),
                "metrics' gauges": lambda db=db: counters.gauges(db)})
        for round_no in range(rounds):
            for count in (small, large) if round_no % 2 == 0 else (large, small):
                for name, request in sites[count].requests.items():
                    for _ in range(samples // rounds or 1):
                        started = time.perf_counter()
                        request()
                        sites[count].times.setdefault(name, []).append(
                            (time.perf_counter() - started) * 1000)
    finally:
        store.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    s_site, l_site = sites[small], sites[large]
    print(f"\n| counters read | p50, {small:,} | p50, {large:,} | p95, {large:,} "
          "| ratio (p50) |\n|---|---:|---:|---:|---:|")
    for name in l_site.times:
        s_med = statistics.median(s_site.times[name])
        l_med = statistics.median(l_site.times[name])
        print(f"| {name} | {s_med:.1f} ms | {l_med:.1f} ms | {p95(l_site.times[name]):.1f} ms "
              f"| {l_med / s_med:.2f} |")
    return 0


def _raw() -> Any:
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument

    return CodecOptions(document_class=RawBSONDocument)


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.figures_bench")
    parser.add_argument("large", nargs="?", type=int,
                        default=int(os.environ.get("BENCH_FIGURES_LARGE", "1000000")),
                        help="tickets of the large database (default 1,000,000)")
    parser.add_argument("--small", type=int,
                        default=int(os.environ.get("BENCH_FIGURES_SMALL", "10000")))
    parser.add_argument("--samples", type=int,
                        default=int(os.environ.get("BENCH_SAMPLES", "30")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the bulk databases in this folder and reuse them in later "
                             "runs (default: a temporary folder, removed)")
    parser.add_argument("--prepare", choices=["load", "rebuild"], default=None,
                        help="only load the bulk databases (and build their counters), no "
                             "reads")
    parser.add_argument("--recent-days", type=int, default=RECENT_DAYS,
                        help="the history control: the large database's last days alone, "
                             f"at its density (default {RECENT_DAYS})")
    parser.add_argument("--counters-only", action="store_true",
                        help="write the counters of generated tickets without the tickets")
    args = parser.parse_args(argv)
    if not 0 < args.recent_days < DAYS:
        parser.error(f"--recent-days must be between 1 and {DAYS - 1}")
    return args


if __name__ == "__main__":
    args = arguments(sys.argv[1:])
    if args.counters_only:
        sys.exit(counters_only(args.large, args.small, args.samples, args.rounds))
    sys.exit(main(args.large, args.small, args.samples, args.rounds, args.data, args.prepare,
                  args.recent_days))
