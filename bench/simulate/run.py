"""Replay a month of the city through the running pipeline at an accelerated shared clock.

The simulation starts its own embedded broker and store and every service (intake, relay,
projector, classifier and its worker, tracker, its worker and monitor) on free ports, all
reading one `SharedClock` file that this process steers. Time moves in ticks (15 simulated
minutes by default): within a tick the clock runs fast and stops at the tick's end, so a
pipeline that falls behind makes the month wait instead of making the reports late. The
storm's two hours are one tick of their own, run slowly enough that intake takes every report
at the moment it was sent; report→routed-ticket latency is measured there.

Each tick: citizens send the reports due (HTTP to intake, retried with the same
Idempotency-Key until accepted), the new tickets are observed in the tracker's store (what the
handlers' queue shows), the call center triages the unsure ones with the right category, the
handlers work their open tickets (office hours; on-duty crews for urgent ones) and move them
through the tracker's bulk API, and citizens rate or reopen resolved tickets through intake.
At the end the month's figures come from the tracker's own statistics API.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from pymongo import MongoClient

from bench.simulate.machine import cores, load_average, tree_cpu_s
from bench.simulate.people import Work, citizen_reply, office_seconds, plan_work
from bench.simulate.world import Arrival, MonthPlan
from services.tracker.store import TICKETS
from shared.clock import ClockControl
from shared.devstack.processes import (
    EmbeddedStack,
    ManagedProcess,
    Store,
    free_port,
    wait_for_port,
)
from shared.devstack.run import PROCESSES, available, init_databases
from shared.settings import REPO_ROOT, Settings
from shared.timefmt import parse_iso

SUPERVISOR = {"Authorization": "Bearer demo-supervisor"}
OPERATOR = {"Authorization": "Bearer demo-operator"}
CALL_CENTER_KEY = {"X-API-Key": "demo-operator"}
BULK_CHUNK = 40  # tickets per bulk move (the API takes up to 200)
LAG_TICKS = 3  # how many ticks a report may take to be routed before the clock waits for it
CONCURRENCY = 6  # HTTP requests in flight at once: intake commits concurrent reports together
OPEN = ("assigned", "in_progress", "reopened")
TRACKER_MODULE = "services.tracker"


@dataclass
class Sent:
    index: int
    report_id: str
    tracking_code: str
    citizen_key: str
    category: str
    surge: bool
    ticket: dict[str, Any] | None = None
    reopened: bool = False


@dataclass
class Tally:
    sent: int = 0
    refused: int = 0
    retries: int = 0
    triaged: int = 0
    moves: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    move_errors: int = 0
    ratings: int = 0
    reopens: int = 0
    citizen_errors: int = 0
    lagging_ticks: int = 0
    phases: dict[str, float] = field(default_factory=lambda: defaultdict(float))


class Stack:
    """Broker, store and every service on free ports, all on the shared clock."""

    def __init__(self, workdir: Path, clock_file: Path, *, log: TextIO,
                 durable: bool = False, stores: int = 1) -> None:
        self.workdir = workdir
        self.log = log
        # `make run` and the tests sync every commit; the replay kills nothing, so by
        # default it does not (README: both figures)
        self.embedded = EmbeddedStack(workdir, sync_on_commit=durable)
        # The tracker's database on a store of its own, as production may give each service
        # its own MONGO_URI (k8s/base/*.yaml): the embedded store is one Python process, so
        # one store uses one core, where a mongod uses them all
        self.tracker_store: Store | None = None
        if stores == 2:
            (workdir / "tracker-store").mkdir(parents=True, exist_ok=True)
            self.tracker_store = Store(free_port(), workdir=workdir / "tracker-store",
                                       sync_on_commit=durable)
            self.tracker_store.name = "tracker-store"
        self.processes: list[ManagedProcess] = []
        ports = {"INTAKE_PORT": free_port(), "CLASSIFIER_PORT": free_port(),
                 "TRACKER_PORT": free_port()}
        self.env = {**os.environ, **self.embedded.env(), **{k: str(v) for k, v in ports.items()},
                    "CLOCK_FILE": str(clock_file), "MONGO_DB": "simulation",
                    "APP_ENV": "embedded", "STAFF_USERS_FILE": "",
                    # one client sends the whole city: the per-address limit is not the subject
                    "RATE_LIMIT_PER_MINUTE": "100000000",
                    "MONITOR_INTERVAL_SECONDS": "1", "WEB_CONCURRENCY": "2",
                    "LOG_LEVEL": "WARNING"}
        self.settings = Settings.from_env(self.env)

    def env_for(self, module: str) -> dict[str, str]:
        if self.tracker_store is not None and module == TRACKER_MODULE:
            return {**self.env, "MONGO_URI": self.tracker_store.uri}
        return self.env

    @property
    def tracker_mongo_uri(self) -> str:
        return self.env_for(TRACKER_MODULE)["MONGO_URI"]

    @property
    def stores(self) -> list[Store]:
        return [self.embedded.store, *([self.tracker_store] if self.tracker_store else [])]

    def start(self) -> Stack:
        from shared.kafka import ensure_topics

        self.embedded.start()
        if self.tracker_store is not None:
            self.tracker_store.start()
            self.tracker_store.wait_ready()
        ensure_topics(self.settings)
        # the services' indexes, as `make run` and the deploy Job create them: without them
        # every lookup (duplicates, queues, the monitor's sweep) scans a growing collection
        for module in dict.fromkeys(p.module for p in PROCESSES if available(p)):
            init_databases(self.env_for(module), modules=[module])
        for proc in PROCESSES:
            if not available(proc):
                continue
            metrics = self.workdir / "metrics" / proc.name
            metrics.mkdir(parents=True, exist_ok=True)
            child = ManagedProcess(proc.name, [sys.executable, "-m", proc.module, proc.command],
                                   log_path=self.workdir / f"{proc.name}.log", cwd=REPO_ROOT,
                                   env={**self.env_for(proc.module),
                                        "PROMETHEUS_MULTIPROC_DIR": str(metrics)})
            child.start()
            self.processes.append(child)
            if proc.port_setting:
                wait_for_port(self.settings.host, getattr(self.settings, proc.port_setting), 60)
        return self

    def stop(self) -> None:
        for child in reversed(self.processes):
            child.stop()
        if self.tracker_store is not None:
            self.tracker_store.stop()
        self.embedded.stop()

    def crashed(self) -> list[str]:
        return [p.name for p in self.processes if not p.running]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds each process has used so far (read before they stop)."""
        parts = [*self.stores, self.embedded.broker, *self.processes]
        used = {p.name: tree_cpu_s(p.proc.pid) for p in parts if p.proc is not None}
        return {name: round(s, 1) for name, s in used.items() if s is not None}


class Simulation:
    def __init__(self, plan: MonthPlan, stack: Stack, control: ClockControl, *,
                 tick: timedelta, tick_wall: float, surge_wall: float, seed: int,
                 log: TextIO) -> None:
        self.plan, self.stack, self.control = plan, stack, control
        self.clock = control.clock
        self.tick, self.tick_wall, self.surge_wall = tick, tick_wall, surge_wall
        self.rng = random.Random(seed)
        self.log = log
        self._local = threading.local()
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=CONCURRENCY)
        self.intake = stack.settings.intake_url
        self.tracker = stack.settings.tracker_url
        # intake's reports and the tracker's tickets, each read where its service keeps it
        self.db = MongoClient(stack.settings.mongo_uri, tz_aware=True)[stack.settings.mongo_db]
        self.tracker_db = MongoClient(stack.tracker_mongo_uri,
                                      tz_aware=True)[stack.settings.mongo_db]
        self.sent: dict[str, Sent] = {}
        self.unseen: set[str] = set()
        self.triage: list[str] = []
        self.work: dict[str, Work] = {}
        self.replies: list[tuple[datetime, int, str, Any]] = []
        self.tally = Tally()
        self.speed = 0.0
        self.surge_speed = 1.0
        self.loads: list[float] = []  # the machine's load average, once per simulated day

    @property
    def http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST, retried with backoff on no answer or a 5xx (a store outage, a restarted
        worker): the people keep trying as they would."""
        for attempt in range(8):
            try:
                answer = self.http.post(url, timeout=60, **kwargs)
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code < 500:
                return answer
            self.count("retries")
            time.sleep(min(0.2 * 2 ** attempt, 5))
        if answer is None:
            raise RuntimeError(f"no answer from {url} after 8 attempts")
        return answer

    def parallel(self, fn: Any, items: list[Any]) -> None:
        """Run `fn` over `items` on the simulation's HTTP threads, and wait for all."""
        for future in [self.pool.submit(fn, item) for item in items]:
            future.result()

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self.tally, name, getattr(self.tally, name) + n)

    def phase(self, name: str) -> None:
        """Wall time spent per phase of the ticks, since the last call."""
        now = time.monotonic()
        self.tally.phases[name] += now - getattr(self, "_phase_at", now)
        self._phase_at = now

    # -- time --------------------------------------------------------------------------------
    def run_clock(self, at: datetime, until: datetime, wall: float) -> None:
        self.speed = (until - at).total_seconds() / wall
        self.control.run(at=at, speed=self.speed, until=until)

    def wait_until(self, at: datetime) -> None:
        ahead = (at - self.clock()).total_seconds()
        if ahead > 0 and self.speed > 0:
            time.sleep(ahead / self.speed)

    # -- citizens send -----------------------------------------------------------------------
    def send(self, index: int, arrival: Arrival) -> None:
        body: dict[str, Any] = {"channel": arrival.channel, "description": arrival.text}
        headers = {"Idempotency-Key": f"sim-{index}"}
        if arrival.district:
            body["district"] = arrival.district
        if arrival.channel == "call_center":
            body["call"] = {"operator_id": "op-sim", "call_id": f"call-{index}",
                            "caller_phone": "0901234567"}
            headers.update(CALL_CENTER_KEY)
        for attempt in range(8):
            try:
                answer = self.http.post(f"{self.intake}/api/v1/reports", json=body,
                                        headers=headers, timeout=30)
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code == 201:
                data = answer.json()
                with self._lock:
                    self.sent[data["report_id"]] = Sent(
                        index=index, report_id=data["report_id"],
                        tracking_code=data["tracking_code"], citizen_key=data["citizen_key"],
                        category=arrival.category, surge=arrival.surge)
                    self.unseen.add(data["report_id"])
                    self.tally.sent += 1
                return
            if answer is not None and answer.status_code < 500 and answer.status_code != 429:
                break  # refused for good: counted below
            with self._lock:
                self.tally.retries += 1
            time.sleep(min(0.2 * 2 ** attempt, 3))
        with self._lock:
            self.tally.refused += 1
        print(f"refused report {index}: {answer.status_code if answer is not None else 'no answer'}"
              f" {answer.text[:200] if answer is not None else ''}", file=self.log)

    # -- what the handlers' queue shows -------------------------------------------------------
    def observe(self) -> None:
        if not self.unseen:
            return
        with self._lock:
            ids = list(self.unseen)
        for start in range(0, len(ids), 1000):
            for doc in self.tracker_db[TICKETS].find(
                    {"_id": {"$in": ids[start:start + 1000]}},
                    {"state": 1, "department": 1, "urgent": 1, "created_at": 1,
                     "started_at": 1, "tracking_code": 1, "expected_resolution_at": 1}):
                report = self.sent[doc["_id"]]
                report.ticket = doc
                with self._lock:
                    self.unseen.discard(doc["_id"])
                if doc["state"] in ("triage", "rejected", "new"):
                    self.triage.append(doc["_id"])
                else:
                    # handlers count from the report's arrival: the few simulated minutes the
                    # replay's routing takes are not theirs to lose
                    self.start_work(doc, since=doc.get("started_at"))

    def start_work(self, doc: dict[str, Any], *, reopened: bool = False,
                   since: datetime | None = None) -> None:
        with self._lock:
            self.work[doc["_id"]] = plan_work(self.rng, ticket_id=doc["_id"],
                                              department=doc.get("department"),
                                              urgent=bool(doc.get("urgent")),
                                              reopened=reopened, since=since)

    # -- the call center triages what the classifier was unsure of ----------------------------
    def do_triage(self) -> None:
        pending, self.triage = self.triage, []
        self.parallel(self.triage_one, pending)

    def triage_one(self, ticket_id: str) -> None:
        report = self.sent[ticket_id]
        answer = self.post(f"{self.tracker}/api/v1/tickets/{ticket_id}/triage",
                           json={"category": report.category}, headers=OPERATOR)
        if answer.status_code != 200:
            self.count("move_errors")
            print(f"triage {ticket_id}: {answer.status_code} {answer.text[:200]}",
                  file=self.log)
            return
        self.count("triaged")
        doc = answer.json()
        report.ticket = {**(report.ticket or {}), "department": doc.get("department"),
                         "expected_resolution_at": doc.get("expected_resolution_at")}
        self.start_work({"_id": ticket_id, "department": doc.get("department"),
                         "urgent": doc.get("urgent")})

    # -- handlers work -----------------------------------------------------------------------
    def do_work(self, start: datetime, end: datetime) -> None:
        moves: dict[str, list[str]] = defaultdict(list)
        with self._lock:
            items = list(self.work.items())
        for ticket_id, work in items:
            since = min(work.counted_until or start, end)
            work.counted_until = end
            worked = ((end - since).total_seconds() if work.urgent
                      else office_seconds(since, end))
            if worked <= 0:
                continue
            move = work.advance(worked)
            if move:
                moves[move].append(ticket_id)
        for target in ("in_progress", "resolved"):
            ids = moves.get(target, [])
            chunks = [ids[i:i + BULK_CHUNK] for i in range(0, len(ids), BULK_CHUNK)]
            self.parallel(lambda chunk, target=target: self.bulk(target, chunk, end), chunks)

    def bulk(self, target: str, ids: list[str], now: datetime, *, again: bool = True) -> None:
        body: dict[str, Any] = {"to": target, "ticket_ids": ids}
        if target == "resolved":
            body.update(note="Đã xử lý xong.", public=True)
        answer = self.post(f"{self.tracker}/api/v1/tickets/bulk/transitions", json=body,
                           headers=SUPERVISOR)
        if answer.status_code != 200:
            self.count("move_errors", len(ids))
            print(f"bulk {target}: {answer.status_code} {answer.text[:300]}", file=self.log)
            return
        changed = [row["ticket_id"] for row in answer.json()["results"]
                   if row["status"] == 409 and "changed meanwhile" in (row.get("error") or "")]
        if again and changed:  # the monitor's sweep wrote it meanwhile: reload, move again
            self.bulk(target, changed, now, again=False)
        for row in answer.json()["results"]:
            if row["ticket_id"] in changed and again:
                continue
            if row["status"] != 200:
                self.count("move_errors")
                print(f"move {row['ticket_id']} to {target}: {row.get('error')}", file=self.log)
                if target == "resolved":
                    self.work.pop(row["ticket_id"], None)
                continue
            with self._lock:
                self.tally.moves[target] += 1
                if target == "resolved":
                    self.resolved(row["ticket_id"], now)

    def resolved(self, ticket_id: str, now: datetime) -> None:
        self.work.pop(ticket_id, None)
        report = self.sent[ticket_id]
        due = (report.ticket or {}).get("expected_resolution_at")
        if isinstance(due, str):  # from an API answer rather than the store
            due = parse_iso(due)
        on_time = due is None or now <= due
        reply = citizen_reply(self.rng, resolved_at=now, on_time=on_time,
                              reopened_before=report.reopened)
        if reply is not None:
            heapq.heappush(self.replies, (reply.at, report.index, ticket_id, reply))

    # -- citizens answer ---------------------------------------------------------------------
    def do_replies(self, until: datetime) -> None:
        due = []
        while self.replies and self.replies[0][0] < until:
            due.append(heapq.heappop(self.replies))
        self.parallel(lambda item: self.reply_one(item[2], item[3]), due)

    def reply_one(self, ticket_id: str, reply: Any) -> None:
        report = self.sent[ticket_id]
        if reply.action == "rating":
            body = {"citizen_key": report.citizen_key, "score": reply.score}
        else:
            body = {"citizen_key": report.citizen_key,
                    "reason": "Vẫn chưa được xử lý, đề nghị kiểm tra lại."}
        answer = self.post(
            f"{self.intake}/api/v1/reports/{report.tracking_code}/{reply.action}", json=body)
        if answer.status_code != 200:
            self.count("citizen_errors")
            print(f"{reply.action} {report.tracking_code}: {answer.status_code} "
                  f"{answer.text[:200]}", file=self.log)
            return
        if reply.action == "rating":
            self.count("ratings")
            return
        self.count("reopens")
        report.reopened = True
        ticket = report.ticket or {}
        self.start_work({"_id": ticket_id, "department": ticket.get("department"),
                         "urgent": ticket.get("urgent")}, reopened=True)

    # -- the month ---------------------------------------------------------------------------
    def drain(self, limit_s: float, which: set[str] | None = None) -> None:
        """Wait (at most `limit_s`) until the reports sent (or `which`) have tickets."""
        deadline = time.monotonic() + limit_s
        self.observe()
        while (self.unseen & which if which is not None else self.unseen) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
            self.observe()

    def run(self, progress: TextIO) -> dict[str, Any]:
        plan = self.plan
        arrivals = list(enumerate(plan.arrivals))
        cursor = 0
        end = plan.start + timedelta(days=plan.days)
        surge_end = plan.surge_start + timedelta(hours=plan.surge_hours)
        now = plan.start
        started = time.monotonic()
        surge_window: tuple[datetime, datetime] | None = None
        last_day = -1
        history: deque[set[str]] = deque(maxlen=LAG_TICKS)
        while now < end:
            in_surge = plan.surge_start <= now < surge_end and any(a.surge for a in plan.arrivals)
            if in_surge:
                tick_end = surge_end
                # slow enough for intake to take each report when it is sent, with an hour of
                # margin for the pipeline to route the last ones on the same clock
                self.run_clock(now, tick_end, self.surge_wall)
                self.control.run(at=now, speed=self.speed, until=tick_end + timedelta(hours=1))
                self.surge_speed = self.speed
                surge_window = (now, tick_end)
            else:
                tick_end = min(now + self.tick, end)
                if now < plan.surge_start < tick_end:
                    tick_end = plan.surge_start
                self.run_clock(now, tick_end, self.tick_wall)
            due = []
            while cursor < len(arrivals) and arrivals[cursor][1].at < tick_end:
                due.append(arrivals[cursor])
                cursor += 1
            phase = self.phase
            futures = []
            for index, arrival in due:
                self.wait_until(arrival.at)
                futures.append(self.pool.submit(self.send, index, arrival))
            for future in futures:
                future.result()
            if in_surge:
                self.drain(180)
            phase("send")
            self.observe()
            phase("observe")
            self.do_triage()
            phase("triage")
            self.do_work(now, tick_end)
            phase("handlers")
            self.do_replies(tick_end)
            phase("citizens")
            self.wait_until(tick_end)
            phase("idle")
            # reports sent LAG_TICKS ago and still not routed: the clock waits for the pipeline
            lagging = self.unseen & history[0] if len(history) == LAG_TICKS else set()
            if lagging:
                self.tally.lagging_ticks += 1
                self.drain(10, lagging)
            with self._lock:
                history.append(set(self.unseen))
            now = max(tick_end, self.clock())
            day = int((now - plan.start).total_seconds() // 86400)
            if day != last_day:
                last_day = day
                if (load := load_average()) is not None:
                    self.loads.append(load)
                print(f"  day {day:>2}/{plan.days}: {self.tally.sent} reports sent, "
                      f"{len(self.sent) - len(self.unseen)} routed, "
                      f"{self.tally.moves['resolved']} resolved, "
                      f"{time.monotonic() - started:.0f} s", file=progress, flush=True)
                crashed = self.stack.crashed()
                if crashed:
                    print(f"  (restarting nothing: {', '.join(crashed)} exited; see logs)",
                          file=progress)
        self.control.run(at=self.clock(), speed=0.0, until=self.clock())
        self.drain(120)
        self.pool.shutdown()
        return self.results(surge_window, time.monotonic() - started)

    def results(self, surge_window: tuple[datetime, datetime] | None,
                wall_s: float) -> dict[str, Any]:
        stats = self.http.get(f"{self.tracker}/api/v1/stats/departments",
                              params={"days": self.plan.days + 2}, headers=SUPERVISOR,
                              timeout=120).json()
        latencies = []
        if surge_window is not None:
            for report in self.sent.values():
                ticket = report.ticket or {}
                if report.surge and ticket.get("created_at") and ticket.get("started_at"):
                    latencies.append((ticket["created_at"] - ticket["started_at"])
                                     .total_seconds())
        reports_stored = self.db["reports"].count_documents({})
        cpu = self.stack.cpu_seconds()
        top = store_top(self.db.client)
        if self.stack.tracker_store is not None:  # its namespaces named after their store
            own = {f"tracker-store:{ns}": v for ns, v in store_top(self.tracker_db.client).items()}
            top = dict(sorted({**top, **own}.items(),
                              key=lambda kv: -kv[1].get("total_time", 0.0)))
        cpu["simulation (this process)"] = round(sum(os.times()[:2]), 1)
        return {
            "plan": {"start": self.plan.start.isoformat(), "days": self.plan.days,
                     "reports": len(self.plan.arrivals),
                     "surge": sum(1 for a in self.plan.arrivals if a.surge),
                     "surge_start": self.plan.surge_start.isoformat(),
                     "surge_hours": self.plan.surge_hours,
                     "admin_share": sum(1 for a in self.plan.arrivals
                                        if a.category == "admin_services")
                     / max(1, len(self.plan.arrivals))},
            "sent": self.tally.sent, "refused": self.tally.refused,
            "retries": self.tally.retries, "reports_stored": reports_stored,
            "lost": len(self.unseen) + self.tally.refused,
            # tickets no department holds (closed as not a report, or waiting in triage)
            "without_department": self.tracker_db[TICKETS].count_documents({"department": None}),
            "unrouted": sorted(self.sent[r].tracking_code for r in self.unseen),
            "triaged": self.tally.triaged, "moves": dict(self.tally.moves),
            "move_errors": self.tally.move_errors, "ratings": self.tally.ratings,
            "reopens": self.tally.reopens, "citizen_errors": self.tally.citizen_errors,
            "lagging_ticks": self.tally.lagging_ticks,
            "phases_s": {k: round(v, 1) for k, v in self.tally.phases.items()},
            "surge_latency_sim_s": latencies, "surge_speed": self.surge_speed,
            "departments": stats["departments"],
            "targets": {"on_time": stats["on_time_target"],
                        "satisfaction": stats["satisfaction_target"]},
            "wall_seconds": wall_s,
            "cpu_seconds": cpu,
            "ticket_indexes": sorted(self.tracker_db[TICKETS].index_information()),
            "machine": {"cores": cores(), "load_average_daily": [round(x, 1) for x in self.loads]},
            "crashed": self.stack.crashed(),
            "store_top": top,
            "durable_store": self.stack.embedded.store.argv.count("--sync-on-commit") > 0,
            "stores": len(self.stack.stores),
            "figure_transactions": metric_totals(
                self.stack.workdir / "metrics", {"committed": "tracker_figure_transactions",
                                                  "runs": "tracker_figure_transaction_runs"}),
        }


def metric_totals(folder: Path, names: dict[str, str]) -> dict[str, float]:
    """Counters summed over every process that wrote into `folder`/<process>/ (the
    services' multiprocess metrics), by the name given in `names`."""
    totals = dict.fromkeys(names, 0.0)
    wanted = {metric: key for key, metric in names.items()}
    for process in sorted(p for p in folder.iterdir() if p.is_dir()):
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(process))
        for family in registry.collect():
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.name[:-6] in wanted:
                    totals[wanted[sample.name[:-6]]] += sample.value
    return totals


def store_top(client: MongoClient) -> dict[str, dict[str, float]]:
    """The store's own time per collection and kind of operation (`top`: count, seconds),
    the largest first: where the store's time went."""
    try:
        totals = client.admin.command("top")["totals"]
    except Exception:  # a store without `top`: the report goes without it
        return {}
    rows = {}
    for ns, sections in totals.items():
        if not isinstance(sections, dict) or not sections.get("total", {}).get("count"):
            continue
        rows[ns] = {f"{kind}_{k}": (v["time"] / 1e6 if k == "time" else v["count"])
                    for kind, v in sections.items() if isinstance(v, dict) and v.get("count")
                    for k in ("count", "time")}
    return dict(sorted(rows.items(), key=lambda kv: -kv[1].get("total_time", 0.0)))


def simulate(plan: MonthPlan, *, tick: timedelta = timedelta(minutes=15),
             tick_wall: float = 0.05, surge_wall: float | None = None, seed: int = 1022,
             workdir: Path | None = None, progress: TextIO = sys.stdout,
             durable: bool = False, stores: int = 1) -> dict[str, Any]:
    """Start the stack, replay the plan, stop everything; the results as a dict."""
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="sim-1022-")) if own else workdir
    folder.mkdir(parents=True, exist_ok=True)
    surge = sum(1 for a in plan.arrivals if a.surge)
    surge_wall = surge_wall or max(5.0, surge / 40)
    control = ClockControl(folder / "clock", plan.start)
    stack = Stack(folder, control.path, log=progress, durable=durable, stores=stores)
    with (folder / "simulation.log").open("w", encoding="utf-8") as log:
        try:
            print(f"starting the stack in {folder} …", file=progress, flush=True)
            t0 = time.monotonic()
            stack.start()
            print(f"  ready in {time.monotonic() - t0:.0f} s", file=progress, flush=True)
            sim = Simulation(plan, stack, control, tick=tick, tick_wall=tick_wall,
                             surge_wall=surge_wall, seed=seed, log=log)
            results = sim.run(progress)
        finally:
            stack.stop()
            control.close()
    if own and results["lost"] == 0 and not results["crashed"]:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        results["workdir"] = str(folder)  # kept: the services' logs tell what went wrong
    return results


def dump(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str),
                    encoding="utf-8")
