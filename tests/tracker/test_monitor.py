"""The SLA monitor: each ticket, clock and level alerted exactly once, by sweeps that read
only the tickets coming due; with two monitor processes and a crash and restart between."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.tracker.config import load_config
from services.tracker.monitor import sweep
from services.tracker.publisher import Publisher
from services.tracker.sla.summary import ticket_clocks
from services.tracker.store import ALERTS, LEASES, TICKETS
from services.tracker.tickets.repository import due_filter
from shared.clock import system_clock
from shared.settings import REPO_ROOT, Settings
from shared.topics import SLA_ALERTS
from tests.helpers import collect, create_from_classified, running, wait_until
from tests.tracker.conftest import classified

LEVELS = {"warning", "breach", "escalation"}


def _alert_ids(db) -> set[str]:
    return {a["_id"] for a in db[ALERTS].find({}, {"_id": 1})}


def test_levels_are_alerted_once_at_the_right_instants(tdb, config, clock, make_ticket):
    # urgent fire report at 10:00 local: first response 15 min, resolution 8 h, 24/7
    ticket = make_ticket(category="fire_safety", urgent=True)
    tid = ticket["_id"]
    assert sweep(db=tdb, config=config, now=clock()).claimed == 0
    clock.advance(minutes=11, seconds=14)  # 75% of 15 min is 11:15
    assert sweep(db=tdb, config=config, now=clock()).claimed == 0
    clock.advance(seconds=1)
    assert sweep(db=tdb, config=config, now=clock()).claimed == 1
    assert _alert_ids(tdb) == {f"{tid}:first_response:warning"}
    assert sweep(db=tdb, config=config, now=clock()).claimed == 0
    clock.advance(minutes=3, seconds=45)  # 15 min: breach
    sweep(db=tdb, config=config, now=clock())
    clock.advance(minutes=7, seconds=30)  # 22.5 min: escalation to the supervisor
    sweep(db=tdb, config=config, now=clock())
    assert _alert_ids(tdb) == {f"{tid}:first_response:{level}" for level in LEVELS}
    doc = tdb[ALERTS].find_one({"_id": f"{tid}:first_response:breach"})
    assert doc["reached_at"] == ticket["started_at"] + timedelta(minutes=15)
    assert tdb[TICKETS].find_one({"_id": tid})["sla"]["breached"] is True
    # a late sweep claims nothing twice and the resolution clock goes on by itself
    clock.advance(hours=6)
    sweep(db=tdb, config=config, now=clock())
    assert _alert_ids(tdb) == {f"{tid}:first_response:{level}" for level in LEVELS} | {
        f"{tid}:resolution:warning"}


def test_a_paused_ticket_raises_nothing_and_resumes(client, tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")  # Monday 10:00, resolution 40 business hours
    resp = client.post(f"/api/v1/tickets/{ticket['_id']}/transitions",
                       json={"to": "waiting_citizen"},
                       headers={"Authorization": "Bearer demo-handler-so_xay_dung"})
    assert resp.status_code == 200
    clock.advance(days=30)
    sweep(db=tdb, config=config, now=clock())
    assert _alert_ids(tdb) == set()
    assert tdb[TICKETS].find_one({"_id": ticket["_id"]})["sla"]["next_check_at"] is None


def test_a_sweep_reads_only_tickets_coming_due(tdb, config, clock, make_ticket):
    for _ in range(30):
        make_ticket(category="traffic")
    due = [make_ticket(category="fire_safety", urgent=True) for _ in range(5)]
    clock.advance(minutes=12)
    result = sweep(db=tdb, config=config, now=clock())
    assert (result.examined, result.claimed) == (5, 5)
    assert _alert_ids(tdb) == {f"{t['_id']}:first_response:warning" for t in due}
    assert sweep(db=tdb, config=config, now=clock()).examined == 0


def test_two_monitors_racing_claim_each_alert_once(tdb, config, clock, make_ticket):
    tickets = [make_ticket(category="security", urgent=True) for _ in range(40)]
    clock.advance(hours=13)  # past 1.5 x 8 h: every level of both clocks reached at once
    barrier = threading.Barrier(2)
    claimed = []

    def monitor() -> None:
        barrier.wait()
        claimed.append(sweep(db=tdb, config=config, now=clock()).claimed)

    threads = [threading.Thread(target=monitor) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    expected = {f"{t['_id']}:{c}:{lvl}" for t in tickets
                for c in ("first_response", "resolution") for lvl in LEVELS}
    assert sum(claimed) == len(expected) == len(_alert_ids(tdb))
    assert _alert_ids(tdb) == expected


def _monitor_process(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.tracker", "monitor"], env=env,
                            cwd=REPO_ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_alerts_exactly_once_with_two_monitor_processes_a_crash_and_a_restart(
        env, settings, tdb, tmp_path):
    """Real time, real processes: urgent tickets with 1-minute targets, started so that their
    thresholds fall during the run. One monitor is killed (SIGKILL) mid-run and another one
    restarted; the publisher's lease holder is restarted gracefully."""
    config_dir = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "services" / "tracker" / "config", config_dir)
    sla = json.loads((config_dir / "sla.json").read_text())
    sla["defaults"]["urgent"] = {"first_response": "1m", "resolution": "2m"}
    sla["categories"] = {}
    (config_dir / "sla.json").write_text(json.dumps(sla))
    proc_env = {**os.environ, **env, "TRACKER_CONFIG_DIR": str(config_dir),
                "MONITOR_INTERVAL_SECONDS": "0.1", "PUBLISHER_LEASE_SECONDS": "5"}
    proc_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    config = load_config(Settings.from_env(proc_env))
    now = datetime.now(UTC)
    for i in range(60):
        # 40 s to 188 s old: every level of both clocks lies within the next ~20 s for some
        event = classified(at=now - timedelta(seconds=40 + 2.5 * i), urgent=True,
                           category="traffic")
        create_from_classified(db=tdb, config=config, event=event,
                               now=now - timedelta(seconds=40 + 2.5 * i))
    log = tmp_path / "monitors.log"
    first, second = _monitor_process(proc_env, log), _monitor_process(proc_env, log)
    procs = [first, second]
    try:
        assert wait_until(lambda: tdb[LEASES].find_one({"_id": "publisher"}) is not None, 30)
        time.sleep(4)
        holder_pid = int(tdb[LEASES].find_one({"_id": "publisher"})["owner"].split(":")[1])
        holder = next(p for p in procs if p.pid == holder_pid)
        other = next(p for p in procs if p.pid != holder_pid)
        other.kill()  # a crash in the middle of sweeping
        other.wait(10)
        time.sleep(3)
        holder.send_signal(signal.SIGTERM)  # a rolling restart of the publisher
        assert holder.wait(30) == 0
        procs += [_monitor_process(proc_env, log), _monitor_process(proc_env, log)]
        time.sleep(12)
        stopped_at = datetime.now(UTC)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
    assert wait_until(lambda: tdb[ALERTS].count_documents({"pending": True}) == 0, 1)
    ids = _alert_ids(tdb)
    # what the monitors had to raise: every level reached a second before they stopped
    expected = set()
    for ticket in tdb[TICKETS].find():
        clocks = ticket_clocks(ticket, config=config, now=stopped_at - timedelta(seconds=1))
        for name, clock in clocks.items():
            for level, attr in (("warning", "warn_at"), ("breach", "due_at"),
                                ("escalation", "escalate_at")):
                at = getattr(clock, attr)
                if at is not None and at <= stopped_at - timedelta(seconds=1):
                    expected.add(f"{ticket['_id']}:{name}:{level}")
    assert expected <= ids
    claimed_after_restart = tdb[ALERTS].count_documents({"claimed_at": {"$gt": now +
                                                                        timedelta(seconds=8)}})
    assert len(ids) > 150 and claimed_after_restart > 20, (len(ids), claimed_after_restart)
    messages = collect(settings.kafka_bootstrap, SLA_ALERTS, until=ids, key="event_id")
    published = [m["event_id"] for m in messages]
    assert sorted(published) == sorted(ids)  # each exactly once on the topic
    assert publisher_is_idle(settings, tdb)


def publisher_is_idle(settings, tdb) -> bool:
    publisher = Publisher(settings=settings, db=tdb, clock=system_clock)
    with running(publisher.run):
        time.sleep(0.5)
    return tdb[ALERTS].count_documents({"pending": True}) == 0


def test_a_policy_change_applies_to_open_tickets(tdb, settings, config, clock, make_ticket):
    """Tighter targets in the configuration: the monitor's start recomputes open tickets, and
    an alert the old rules would have raised much later comes at the new instant."""
    from dataclasses import replace

    from services.tracker.monitor import reconcile
    from services.tracker.sla.policy import Targets

    ticket = make_ticket(category="traffic")  # Monday 10:00, first response 4 business hours
    assert reconcile(db=tdb, config=config, now=clock()) > 0  # first start records the rules
    assert reconcile(db=tdb, config=config, now=clock()) == 0
    tighter = replace(config, fingerprint="tighter", policies=replace(
        config.policies, normal=Targets(first_response=timedelta(hours=1),
                                        resolution=timedelta(hours=8))))
    clock.advance(minutes=50)
    sweep(db=tdb, config=tighter, now=clock())
    assert _alert_ids(tdb) == set()  # the stored instants still follow the old rules
    assert reconcile(db=tdb, config=tighter, now=clock()) == 1
    stored = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    assert stored["sla"]["clocks"]["first_response"]["due_at"] == ticket["started_at"] + \
        timedelta(hours=1)
    sweep(db=tdb, config=tighter, now=clock())
    assert _alert_ids(tdb) == {f"{ticket['_id']}:first_response:warning"}


def test_the_sweep_reads_a_closed_range_of_due_checks(tdb):
    """Due: a check at or before now; never a ticket without one (closed) or due later. The
    range has a lower bound: with `$lte` alone the embedded store scanned every ticket on
    each sweep (200 ms at 1,000 tickets in `make simulate`, growing with the month)."""
    now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    checks = {"past": now - timedelta(days=3), "now": now, "later": now + timedelta(minutes=1),
              "closed": None}
    tdb["due_probe"].insert_many([{"_id": k, "sla": {"next_check_at": v}}
                                  for k, v in checks.items()])
    query = due_filter(now)
    assert {d["_id"] for d in tdb["due_probe"].find(query)} == {"past", "now"}
    bounds = query["sla.next_check_at"]
    assert set(bounds) == {"$gte", "$lte"} and bounds["$gte"] < now - timedelta(days=365 * 50)


def test_the_monitor_writes_a_ticket_only_when_it_alerts(tdb, config, clock, make_ticket,
                                                        monkeypatch):
    """Issue 19 part 3: a sweep writes a ticket when one of its levels is reached (an alert,
    and with the breach the stored flag the figures count), never for a checkpoint that
    changes nothing anyone sees; however often it sweeps."""
    from services.tracker import monitor
    from services.tracker.tickets import repository
    from tests.tracker.test_honest_figures import move

    written: list[str] = []
    save = repository.save_recomputed

    def counted(db, recomputed, *, tz):
        written.extend(t["_id"] for t, _ in recomputed)
        return save(db, recomputed, tz=tz)

    monkeypatch.setattr(monitor.repository, "save_recomputed", counted)
    urgent = make_ticket(category="fire_safety", urgent=True)
    normal = make_ticket(category="traffic")
    paused = make_ticket(category="noise")
    move(tdb, config, clock, paused, "waiting_citizen")
    for _ in range(int(timedelta(days=12) / timedelta(minutes=7))):
        clock.advance(minutes=7)
        sweep(db=tdb, config=config, now=clock())
    alerts = [a["ticket_id"] for a in tdb[ALERTS].find({}, {"ticket_id": 1})]
    assert sorted(written) == sorted(alerts)
    assert {urgent["_id"], normal["_id"]} <= set(written)
    for tid in (urgent["_id"], normal["_id"]):
        assert tdb[TICKETS].find_one({"_id": tid})["sla"]["breached"] is True
