"""Issue 6, done-when 3: two replicas of every process on the embedded stack.

Real processes, as a deployment runs them (`python -m services.<svc> <cmd>`, gunicorn with two
workers each): intake serve, relay and projector; the classifier worker; tracker serve, worker
and monitor, two of each on their own ports. A client posts reports to both intake replicas,
in turns, as a load balancer would (retrying on the other one on a connection error or a 5xx,
with the same Idempotency-Key). After a third of the load one replica of every kind is stopped
with SIGTERM (the relay and the monitor that hold their leases), and a replacement classifier
worker is started and then crashed with SIGKILL while the load goes on. The test shows that
before the stop each replica did part of the work, and that at the end every accepted report
has exactly one ticket and its tracking page shows the tracker's state.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from services.intake.store import OUTBOX_STATE, REPORTS
from services.tracker.store import LEASES, TICKETS
from shared.devstack import EmbeddedStack, ManagedProcess, free_port, wait_for_port
from shared.settings import REPO_ROOT
from tests.helpers import wait_until

TOTAL = 300
RATE = 5.0  # reports per second: the load lasts about a minute, long enough for rebalances
THREADS = 4
SUPERVISOR = {"Authorization": "Bearer demo-supervisor"}
TEMPLATES = [json.loads(line) for line in (REPO_ROOT / "shared" / "devstack" /
                                           "demo_reports.jsonl").read_text().splitlines()
             if json.loads(line)["channel"] != "call_center"]
CLASSIFIED = "classifier_reports_total"
TICKETS_CREATED = "tracker_tickets_created_total"


# -- the two helpers: start a process, read a metric ----------------------------------------

@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory):
    """A broker and store of this test's own: the session broker keeps the consumer groups of
    earlier tests (a worker killed mid-batch stays a member for a while), and a group with a
    member that never syncs rebalances forever."""
    stack = EmbeddedStack(tmp_path_factory.mktemp("replicas-stack"), ttl_sweep=False)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def env(env: dict[str, str], own_stack: EmbeddedStack) -> dict[str, str]:
    return {**env, "MONGO_URI": own_stack.store.uri,
            "KAFKA_BOOTSTRAP": own_stack.broker.bootstrap}


@pytest.fixture
def db(env: dict[str, str], own_stack: EmbeddedStack):
    client = MongoClient(own_stack.store.uri, tz_aware=True)
    yield client[env["MONGO_DB"]]
    client.close()


def start(name: str, command: str, *, env: dict[str, str], tmp_path: Path,
          procs: list[ManagedProcess], **extra: str) -> ManagedProcess:
    """`python -m services.<svc> <cmd>` with the test's environment, its own metrics folder
    and log; registered in `procs` so that the test's finally block stops it."""
    service = name.split("-", 1)[0]
    metrics_dir = tmp_path / "prometheus" / name
    metrics_dir.mkdir(parents=True)
    proc_env = {**os.environ, **env, "WEB_CONCURRENCY": "2",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **extra}
    proc_env.pop("BIND", None)
    proc = ManagedProcess(name, [sys.executable, "-m", f"services.{service}", command],
                          log_path=tmp_path / "logs" / f"{name}.log", env=proc_env,
                          cwd=REPO_ROOT)
    proc.start()
    procs.append(proc)
    return proc


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`, on url/metrics."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


# -- the load --------------------------------------------------------------------------------

@dataclass
class Accepted:
    report_id: str
    tracking_code: str
    replica: int  # which intake replica answered the 201
    at: float  # time.monotonic() of the 201
    replayed: bool  # the 201 was a replay of a report stored by an earlier attempt
    ids_seen: set[str] = field(default_factory=set)


class Load:
    """TOTAL reports at RATE per second from THREADS threads; report i goes to replica i % 2
    first and to the other one on a connection error or a 5xx."""

    def __init__(self, bases: list[str], prefix: str) -> None:
        self.bases = bases
        self.prefix = prefix
        self.accepted: dict[str, Accepted] = {}
        self.errors: list[str] = []
        self.failovers = 0
        self._next = itertools.count()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(THREADS)]
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _run(self) -> None:
        session = requests.Session()
        while (i := next(self._next)) < TOTAL:
            time.sleep(max(0.0, self._t0 + i / RATE - time.monotonic()))
            self._post(session, i)

    def _post(self, session: requests.Session, i: int) -> None:
        key = f"{self.prefix}-{i:04d}"
        template = TEMPLATES[i % len(TEMPLATES)]
        body = {**template, "description": f"{template['description']} (phản ánh {key})"}
        for attempt in range(40):
            replica = (i + attempt) % 2
            try:
                resp = session.post(f"{self.bases[replica]}/api/v1/reports", json=body,
                                    headers={"Idempotency-Key": key}, timeout=15)
            except requests.RequestException:
                resp = None
            if resp is None or resp.status_code >= 500:
                with self._lock:
                    self.failovers += 1
                time.sleep(0.05 * min(attempt, 10))
                continue
            with self._lock:
                if resp.status_code != 201:
                    self.errors.append(f"{key}: {resp.status_code} {resp.text[:200]}")
                    return
                data = resp.json()
                previous = self.accepted.get(key)
                self.accepted[key] = Accepted(
                    data["report_id"], data["tracking_code"], replica, time.monotonic(),
                    resp.headers.get("Idempotent-Replayed") == "true",
                    (previous.ids_seen if previous else set()) | {data["report_id"]})
            return
        with self._lock:
            self.errors.append(f"{key}: no replica accepted it after 40 attempts")

    def count(self, replica: int, before: float = float("inf")) -> int:
        with self._lock:
            return sum(1 for a in self.accepted.values() if a.replica == replica and a.at < before)


# -- small readers ---------------------------------------------------------------------------

def assignment(proc: ManagedProcess, group: str) -> set[tuple[str, int]]:
    """The partitions the consumer's last completed rebalance gave it (kafka-python's log)."""
    lines = [line for line in proc.log_path.read_text(errors="replace").splitlines()
             if "Setting newly assigned partitions" in line and f"for group {group}" in line]
    if not lines:
        return set()
    return {(topic, int(part)) for topic, part in
            re.findall(r"topic='([^']+)', partition=(\d+)", lines[-1])}


def lease_pid(doc: dict | None) -> int | None:
    return int(doc["owner"].split(":")[1]) if doc and doc.get("owner") else None


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def settled(urls: list[str], name: str, quiet_s: float = 3.0, timeout: float = 120.0) -> bool:
    """The counters stopped moving (the consumers worked off what earlier tests left)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = [metric(url, name) for url in urls]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return True
        time.sleep(0.5)
    return False


# -- the test --------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_replicas_share_the_load_and_stopping_one_loses_nothing(
        env, db, model_path, tmp_path):
    procs: list[ManagedProcess] = []
    base_env = {**env, "CLASSIFIER_MODEL": str(model_path)}
    intake_ports, tracker_ports = [free_port(), free_port()], [free_port(), free_port()]
    intake = [f"http://127.0.0.1:{p}" for p in intake_ports]
    tracker = [f"http://127.0.0.1:{p}" for p in tracker_ports]

    def run(name: str, command: str, **extra: str) -> ManagedProcess:
        return start(name, command, env=base_env, tmp_path=tmp_path, procs=procs, **extra)

    try:
        # -- two of everything ------------------------------------------------------------
        intake_serve = [run(f"intake-serve-{i}", "serve", INTAKE_PORT=str(intake_ports[i]),
                            TRACKER_URL=tracker[i]) for i in range(2)]
        tracker_serve = [run(f"tracker-serve-{i}", "serve", TRACKER_PORT=str(tracker_ports[i]),
                             TRACKER_URL=tracker[i], INTAKE_URL=intake[i]) for i in range(2)]
        relays = [run(f"intake-relay-{i}", "relay") for i in range(2)]
        projectors = [run(f"intake-projector-{i}", "projector") for i in range(2)]
        classifier_ports = [free_port(), free_port()]
        classifiers = [run(f"classifier-worker-{i}", "worker",
                           WORKER_METRICS_PORT=str(classifier_ports[i])) for i in range(2)]
        tworker_ports = [free_port(), free_port()]
        tworkers = [run(f"tracker-worker-{i}", "worker", TRACKER_URL=tracker[i],
                        WORKER_METRICS_PORT=str(tworker_ports[i])) for i in range(2)]
        monitors = [run(f"tracker-monitor-{i}", "monitor", TRACKER_URL=tracker[i])
                    for i in range(2)]
        classifier_urls = [f"http://127.0.0.1:{p}" for p in classifier_ports]
        tworker_urls = [f"http://127.0.0.1:{p}" for p in tworker_ports]

        for port in intake_ports + tracker_ports + classifier_ports + tworker_ports:
            wait_for_port("127.0.0.1", port, 90)
        assert all(wait_until(lambda u=url: ready(u), 60, 0.5) for url in intake + tracker)
        assert wait_until(lambda: db[OUTBOX_STATE].find_one({"_id": "reports"}) is not None,
                          60, 0.5), "no relay took the lease"
        assert wait_until(lambda: db[LEASES].find_one({"_id": "publisher"}) is not None,
                          60, 0.5), "no monitor took the publisher lease"
        # each consumer group has settled with both members holding partitions
        groups = (("classifier", classifiers, 7), ("tracker", tworkers, 6),
                  ("intake-projector", projectors, 12))
        for group, members, partitions in groups:
            assert wait_until(lambda g=group, m=members, n=partitions: all(
                assignment(p, g) for p in m) and len(assignment(m[0], g) | assignment(
                    m[1], g)) == n, 90, 0.5), f"group {group} never spread over both members"
        assert settled(classifier_urls, CLASSIFIED) and settled(tworker_urls, TICKETS_CREATED)
        baseline = {url: metric(url, CLASSIFIED) for url in classifier_urls} | {
            url: metric(url, TICKETS_CREATED) for url in tworker_urls}

        def done(url: str, name: str) -> float:
            return metric(url, name) - baseline[url]

        # -- the load, and one replica of every kind stopped after a third of it ------------
        load = Load(intake, prefix=env["MONGO_DB"])
        load.start()
        assert wait_until(lambda: len(load.accepted) >= TOTAL // 3, 120, 0.1)
        assert wait_until(lambda: all(done(u, CLASSIFIED) > 0 for u in classifier_urls) and all(
            done(u, TICKETS_CREATED) > 0 for u in tworker_urls), 60, 0.5), \
            "the workers did not share the work before the stop"
        stop_at = time.monotonic()
        before = {
            "intake 201s (client)": [load.count(r, before=stop_at) for r in range(2)],
            "intake 201s (/metrics)": [metric(url, "http_requests_total", method="POST",
                                              route="/api/v1/reports", status="201")
                                       for url in intake],
            "classified": [done(url, CLASSIFIED) for url in classifier_urls],
            "tickets created": [done(url, TICKETS_CREATED) for url in tworker_urls],
        }
        relay_holder = lease_pid(db[OUTBOX_STATE].find_one({"_id": "reports"}))
        publisher_holder = lease_pid(db[LEASES].find_one({"_id": "publisher"}))
        victims = [intake_serve[0], tracker_serve[0],
                   next(p for p in relays if p.proc.pid == relay_holder),
                   projectors[0], classifiers[0], tworkers[0],
                   next(p for p in monitors if p.proc.pid == publisher_holder)]
        for victim in victims:
            victim.proc.send_signal(signal.SIGTERM)
        exits = {victim.name: victim.proc.wait(60) for victim in victims}
        stopped_after_s = time.monotonic() - stop_at
        assert exits == {victim.name: 0 for victim in victims}, exits
        survivors = {"relay": next(p for p in relays if p not in victims),
                     "monitor": next(p for p in monitors if p not in victims)}
        assert wait_until(lambda: lease_pid(db[OUTBOX_STATE].find_one({"_id": "reports"}))
                          == survivors["relay"].proc.pid, 30, 0.2), "the standby relay idles"
        assert wait_until(lambda: lease_pid(db[LEASES].find_one({"_id": "publisher"}))
                          == survivors["monitor"].proc.pid, 30, 0.2), "no publisher took over"

        # -- a replacement classifier worker joins, works, and crashes mid-load -------------
        crash_port = free_port()
        crash_url = f"http://127.0.0.1:{crash_port}"
        crashed = run("classifier-worker-2", "worker", WORKER_METRICS_PORT=str(crash_port))
        wait_for_port("127.0.0.1", crash_port, 90)
        assert wait_until(lambda: metric(crash_url, CLASSIFIED) > 0, 90, 0.5), \
            "the replacement worker never got partitions"
        crashed_classified = metric(crash_url, CLASSIFIED)
        load_running_at_crash = load.running
        crashed.kill()
        assert load_running_at_crash, "the crash came after the load: slow machine?"

        load.join(300)
        assert not load.running
        assert load.errors == []
        assert len(load.accepted) == TOTAL

        # -- nothing lost -------------------------------------------------------------------
        accepted = load.accepted
        ids = {a.report_id for a in accepted.values()}
        assert all(a.ids_seen == {a.report_id} for a in accepted.values()), \
            "a retried key answered with two report ids"
        assert wait_until(lambda: db[TICKETS].count_documents({"_id": {"$in": list(ids)}})
                          == len(ids), 180, 1.0), "some reports have no ticket"
        per_code = list(db[TICKETS].aggregate([
            {"$match": {"tracking_code": {"$in": [a.tracking_code for a in accepted.values()]}}},
            {"$group": {"_id": "$tracking_code", "n": {"$sum": 1}}}]))
        assert len(per_code) == TOTAL and {row["n"] for row in per_code} == {1}
        per_key = list(db[REPORTS].aggregate([
            {"$match": {"idempotency_key": {"$regex": f"^{re.escape(env['MONGO_DB'])}-"}}},
            {"$group": {"_id": "$idempotency_key", "n": {"$sum": 1}}}]))
        assert sorted(row["_id"] for row in per_key) == sorted(accepted)
        assert {row["n"] for row in per_key} == {1}

        states = {t["_id"]: t["state"] for t in db[TICKETS].find({"_id": {"$in": list(ids)}},
                                                                 {"state": 1})}
        assert set(states.values()) <= {"assigned", "triage"}
        oids = [doc["_id"] for doc in db[REPORTS].find({"idempotency_key": {"$in": list(
            accepted)}}, {"_id": 1})]
        assert wait_until(lambda: db[REPORTS].count_documents(
            {"_id": {"$in": oids}, "ticket_seq": {"$exists": True}}) == TOTAL, 120, 1.0), \
            "the tracker's status did not come back for every report"
        assert db[REPORTS].count_documents({"_id": {"$in": oids}, "status": "received"}) == 0
        survivor_intake = requests.Session()
        pages = {a.report_id: survivor_intake.get(
            f"{intake[1]}/api/v1/reports/{a.tracking_code}", timeout=10).json()["status"]
            for a in accepted.values()}
        assert pages == states
        listed = requests.get(f"{tracker[1]}/api/v1/tickets?limit=1", headers=SUPERVISOR,
                              timeout=10).json()["total"]
        assert listed == db[TICKETS].count_documents({})

        after = {
            "intake 201s (client)": [load.count(r) for r in range(2)],
            "classified": [done(classifier_urls[1], CLASSIFIED)],
            "tickets created": [done(tworker_urls[1], TICKETS_CREATED)],
        }
        print(f"\nbefore the stop: {before}\nstopped in {stopped_after_s:.1f} s: "
              f"{sorted(exits)}\nreplacement classifier worker classified "
              f"{crashed_classified:.0f} before SIGKILL\nat the end: {after}\n"
              f"failovers {load.failovers}, replayed 201s "
              f"{sum(a.replayed for a in accepted.values())}, "
              f"states {sorted(set(states.values()))} "
              f"({sum(s == 'triage' for s in states.values())} triage)")
        for figures in (before["intake 201s (client)"], before["intake 201s (/metrics)"],
                        before["classified"], before["tickets created"]):
            assert all(value > 0 for value in figures), before
    except BaseException:
        for proc in procs:
            print(f"--- {proc.name} (running={proc.running}):\n{proc.tail(15)}")
        raise
    finally:
        for proc in reversed(procs):
            proc.stop(30)
