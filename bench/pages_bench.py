"""Server time of every web page with 10,000 tickets in the store, beside the same page with
100 tickets, measured in alternating rounds in one run.

Starts its own embedded store, fills two databases (tickets and their reports, inserted
directly with insert_many: realistic categories, districts, states, deadlines and ratings over
60 days), builds the intake and tracker apps on each, logs in the four roles, and times each
page through the apps' WSGI interface (Flask's test client: the server's work, no network).
Prints median, p95 and the ratio 10,000/100 per page; the target is p95 < 300 ms.

    python -m bench.pages_bench      (BENCH_TICKETS=10000 BENCH_SAMPLES=30 BENCH_ROUNDS=3)
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from flask.testing import FlaskClient
from pymongo import MongoClient
from pymongo.database import Database

from services.classifier.corpus import load_split
from services.intake.app import create_app as create_intake
from services.intake.reports.service import NewReport, build_document
from services.intake.store import REPORTS
from services.intake.store import init_db as intake_init_db
from services.tracker.app import create_app as create_tracker
from services.tracker.config import TrackerConfig, load_config
from services.tracker.sla.summary import sla_fields
from services.tracker.stats import counters
from services.tracker.store import TICKETS, init_db
from services.tracker.tickets.service import SYSTEM, _entry
from shared.clock import ManualClock
from shared.crypto import FieldCipher
from shared.devstack import Store, free_port
from shared.settings import REPO_ROOT, Settings
from shared.taxonomy import CATEGORY_CODES

TICKETS_LARGE = int(os.environ.get("BENCH_TICKETS", "10000"))
TICKETS_SMALL = 100
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET_MS = 300.0
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # Tuesday 14:00 in the city
HANDLER_DEPARTMENT = "so_xay_dung"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# What a ticket has become by its age, as on a hotline that resolves 99% on time: old tickets
# are mostly closed, this week's are mostly open.
OPEN_MIX = ["assigned"] * 45 + ["in_progress"] * 40 + ["waiting_citizen"] * 8 + ["triage"] * 7
DONE_MIX = ["closed"] * 70 + ["resolved"] * 27 + ["duplicate"] * 3


def state_for(age: timedelta, rng: random.Random) -> str:
    still_open = 0.85 if age < timedelta(days=2) else 0.35 if age < timedelta(days=7) else 0.02
    return rng.choice(OPEN_MIX if rng.random() < still_open else DONE_MIX)


def _ticket(i: int, example: Any, config: TrackerConfig, rng: random.Random) -> dict[str, Any]:
    """A ticket as the tracker stores it, with a history fitting its state."""
    created = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * 60))
    state = state_for(NOW - created, rng)
    rid = str(ObjectId())
    department = None if state == "triage" else config.routing.department(
        example.category, example.district)
    history = [_entry(seq=1, at=created, by=SYSTEM, from_state=None, to_state="new"),
               _entry(seq=2, at=created, by=SYSTEM, from_state="new",
                      to_state="triage" if department is None else "assigned",
                      department=department)]
    path = {"in_progress": ["in_progress"], "waiting_citizen": ["in_progress", "waiting_citizen"],
            "resolved": ["in_progress", "resolved"], "closed": ["in_progress", "resolved",
                                                               "closed"],
            "duplicate": ["duplicate"]}.get(state, [])
    at = created
    for to in path:
        at = min(at + timedelta(hours=rng.uniform(0.5, 30)), NOW)
        history.append(_entry(seq=len(history) + 1, at=at, by=SYSTEM,
                              from_state=history[-1]["to"], to_state=to,
                              note="Đã kiểm tra hiện trường" if to == "resolved" else None,
                              public=to == "resolved"))
    ticket: dict[str, Any] = {
        "_id": rid, "report_id": rid, "tracking_code": f"HCM-2025-{i:06d}", "channel": "app",
        "description": example.text, "address": None, "location": None,
        "district": example.district, "category": example.category,
        "classified_category": example.category, "confidence": 0.9,
        "top3": [[example.category, 0.9]], "urgent": rng.random() < 0.05,
        "model_version": "bench", "department": department, "state": state,
        "started_at": created, "created_at": created, "updated_at": at, "history": history,
        "seq": len(history),
        "alerted": [], "duplicate_of": None, "rating": None, "duplicate_candidates": [],
    }
    ticket.update(sla_fields(ticket, config=config, now=at))  # finished_at, on time: history
    if state == "closed":
        ticket["rating"] = {"score": rng.choice([5, 5, 5, 4, 4, 3, 2, 1]), "comment": None,
                            "at": at}
    ticket.update(sla_fields(ticket, config=config, now=NOW))  # deadlines as seen now
    return ticket


def fill(db: Database, config: TrackerConfig, count: int) -> list[dict[str, Any]]:
    rng = random.Random(1022)
    # reports of the taxonomy's categories only (the corpus also holds chatter, not_a_report,
    # which never gets a department)
    corpus = [e for e in load_split("validation") if e.category in CATEGORY_CODES]
    init_db(db)
    tickets = [_ticket(i, rng.choice(corpus), config, rng) for i in range(count)]
    cipher = FieldCipher(Settings().pii_keys)
    reports = []
    for t in tickets:
        doc = build_document(NewReport(channel="app", description=t["description"],
                                       phone="+84901234567"),
                             report_id=ObjectId(t["_id"]), tracking_code=t["tracking_code"],
                             citizen_key="BENCHKEY",
                             cipher=cipher, now=t["created_at"], photo_ids=[],
                             idempotency_key=None, fingerprint=None)
        doc.update(status=t["state"], service_code=t["category"],
                   agency_responsible=t["department"],
                   expected_datetime=t.get("expected_resolution_at"),
                   resolved_at=t.get("finished_at"),
                   public_notes=[{"at": h["at"], "text": h["note"], "seq": h["seq"]}
                                 for h in t["history"] if h.get("public")])
        reports.append(doc)
    for start in range(0, count, 1000):
        db[TICKETS].insert_many(tickets[start:start + 1000])
        db[REPORTS].insert_many(reports[start:start + 1000])
    return tickets


def login(client: FlaskClient, user: str) -> str:
    token = _CSRF.search(client.get("/staff/login").get_data(as_text=True)).group(1)
    answer = client.post("/staff/login", data={"csrf_token": token, "user": user,
                                               "password": "demo1022"})
    assert answer.status_code == 303, answer.status_code
    return _CSRF.search(client.get(answer.headers["Location"]).get_data(as_text=True)).group(1)


@dataclass
class Site:
    """One database with its apps and logged-in clients."""

    name: str
    tickets: list[dict[str, Any]]
    resident: FlaskClient
    staff: dict[str, tuple[FlaskClient, str]]
    times: dict[str, list[float]] = field(default_factory=dict)
    counter: int = 0


def build_site(name: str, count: int, client: MongoClient, settings: Settings,
               config: TrackerConfig) -> Site:
    db = client[f"bench_pages_{name}"]
    client.drop_database(db.name)
    started = time.perf_counter()
    tickets = fill(db, config, count)
    counters.rebuild(db, tz=config.business.tz)  # tickets inserted directly: count them
    print(f"  {name}: {count:,} tickets and reports in {time.perf_counter() - started:.1f} s",
          flush=True)
    site_settings = dataclasses.replace(settings, mongo_db=db.name)
    clock = ManualClock(NOW)
    intake_init_db(db)
    intake = create_intake(site_settings, clock=clock)
    tracker = create_tracker(site_settings, clock=clock, config=config)
    staff = {}
    for role, user in (("operator", "operator.lan"), ("handler", "handler.xaydung"),
                       ("supervisor", "supervisor.minh")):
        c = tracker.test_client()
        staff[role] = (c, login(c, user))
    return Site(name, tickets, intake.test_client(), staff)


def pages(site: Site) -> dict[str, Callable[[], Any]]:
    """Each page as one request; POSTs act on a fresh ticket or make a new report."""
    resident = site.resident
    form = resident.get("/").get_data(as_text=True)
    resident_token = _CSRF.search(form).group(1)
    closed = next(t for t in site.tickets if t["state"] == "closed")
    mine = [t for t in site.tickets if t["department"] == HANDLER_DEPARTMENT
            and t["state"] == "assigned"] or [
        t for t in site.tickets if t["department"] == HANDLER_DEPARTMENT]
    operator, _ = site.staff["operator"]
    handler, handler_token = site.staff["handler"]
    supervisor, _ = site.staff["supervisor"]

    def submit() -> Any:
        site.counter += 1
        return resident.post("/", data={
            "csrf_token": resident_token, "submission": f"bench-{site.name}-{site.counter}",
            "description": "Rác thải chất đống đầu hẻm 45 Lê Văn Sỹ mấy ngày không ai thu gom.",
            "district": "q3", "phone": "0901234567"})

    def move() -> Any:
        ticket = mine[site.counter % len(mine)]
        site.counter += 1
        return handler.post(f"/staff/tickets/{ticket['_id']}/note", data={
            "csrf_token": handler_token, "note": "Đã liên hệ tổ dân phố", "public": "1"})

    figures = supervisor.application.extensions["staff_pages_figures"]

    def cold_dashboard() -> Any:
        figures.invalidate()  # what the first visit, or the 30 s background refresh, costs
        return supervisor.get("/staff/dashboard")

    code = closed["tracking_code"]
    return {
        "resident: report form": lambda: resident.get("/"),
        "resident: submit report (POST)": submit,
        "resident: confirmation": lambda: resident.get(f"/submitted/{code}"),
        "resident: tracking page": lambda: resident.get(f"/track/{code}"),
        "operator: console": lambda: operator.get("/staff/operator"),
        "operator: triage queue": lambda: operator.get("/staff/triage"),
        "handler: queue": lambda: handler.get("/staff/queue"),
        "handler: queue, breached only": lambda: handler.get("/staff/queue?sla_state=breached"),
        "handler: queue, page 5": lambda: handler.get("/staff/queue?page=5"),
        "handler: ticket page": lambda: handler.get(f"/staff/tickets/{mine[0]['_id']}"),
        "handler: add a note (POST)": move,
        "supervisor: dashboard (30 days)": lambda: supervisor.get("/staff/dashboard"),
        "supervisor: dashboard (90 days)": lambda: supervisor.get("/staff/dashboard?days=90"),
        "supervisor: dashboard, figures recomputed": cold_dashboard,
        "supervisor: breach list refresh": lambda: supervisor.get("/staff/dashboard/breaches"),
        "supervisor: CSV export": lambda: supervisor.get("/staff/dashboard/departments.csv"),
    }


def measure(site: Site, requests: dict[str, Callable[[], Any]], samples: int) -> None:
    for name, request in requests.items():
        answer = request()  # warm-up, and a check that the page works
        assert answer.status_code in {200, 303}, (name, answer.status_code)
        for _ in range(samples):
            started = time.perf_counter()
            request()
            site.times.setdefault(name, []).append((time.perf_counter() - started) * 1000)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    store = Store(free_port(), workdir=workdir)
    store.start()
    try:
        store.wait_ready()
        env = {"APP_ENV": "test", "MONGO_URI": store.uri, "RATE_LIMIT_PER_MINUTE": "0"}
        settings = Settings.from_env(env)
        config = load_config(settings)
        client = MongoClient(store.uri, tz_aware=True)
        print(f"Filling the store (samples {SAMPLES} x {ROUNDS} rounds per page)…", flush=True)
        small = build_site("small", TICKETS_SMALL, client, settings, config)
        large = build_site("large", TICKETS_LARGE, client, settings, config)
        requests = {site.name: pages(site) for site in (small, large)}
        for round_no in range(ROUNDS):
            for site in (small, large) if round_no % 2 == 0 else (large, small):
                measure(site, requests[site.name], SAMPLES // ROUNDS or 1)
            print(f"  round {round_no + 1}/{ROUNDS} done", flush=True)
    finally:
        store.stop()
    return report(small, large)


def report(small: Site, large: Site) -> int:
    header = (f"| page | median, {TICKETS_SMALL} tickets | median, {TICKETS_LARGE:,} | "
              f"p95, {TICKETS_LARGE:,} | ratio {TICKETS_LARGE:,}/{TICKETS_SMALL} (median) | "
              f"p95 < {TARGET_MS:.0f} ms |")
    lines = [header, "|---|---:|---:|---:|---:|:---:|"]
    figures = {}
    worst = 0.0
    for name in large.times:
        s_med = statistics.median(small.times[name])
        l_med, l_p95 = statistics.median(large.times[name]), p95(large.times[name])
        worst = max(worst, l_p95)
        figures[name] = {"median_small_ms": round(s_med, 1), "median_large_ms": round(l_med, 1),
                         "p95_large_ms": round(l_p95, 1), "ratio": round(l_med / s_med, 2)}
        lines.append(f"| {name} | {s_med:.1f} ms | {l_med:.1f} ms | {l_p95:.1f} ms | "
                     f"{l_med / s_med:.2f} | {'yes' if l_p95 < TARGET_MS else 'NO'} |")
    table = "\n".join(lines)
    print("\n" + table)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pages.md").write_text(table + "\n", encoding="utf-8")
    (out / "pages.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"\nworst p95 with {TICKETS_LARGE:,} tickets: {worst:.1f} ms "
          f"(target < {TARGET_MS:.0f} ms); written to bench/results/pages.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
