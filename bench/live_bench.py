"""Server-Sent Events fan-out of the live pages (issue 20) on one tracker process.

Starts its own embedded store and the tracker under gunicorn exactly as `python -m
services.tracker serve` does (one worker, gthread, GUNICORN_THREADS + LIVE_STREAMS_PER_WORKER
threads), logs a handler in, opens pages on `/staff/live?view=queue` (raw sockets, one
thread with a selector, so the client costs little of the two cores), then changes a ticket
of the handler's department (its owner, one `update_one`) and times, for each change, when
the first and the last open page received its `ticket` event. Phases with 1 page and with 200
pages alternate in one run; the worker's CPU time per change comes from /proc. Also: the
server time of an ordinary request (/healthz) while the pages are open, and the same with the
`sync` worker class, where one open page takes the only connection.

    python -m bench.live_bench     (BENCH_PAGES=200 BENCH_CHANGES=20 BENCH_ROUNDS=2)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from bson import ObjectId
from pymongo import MongoClient

from bench.cpu import cpu_seconds, descendants
from services.tracker.config import load_config
from services.tracker.live.hub import LiveConfig
from services.tracker.store import TICKETS, init_db
from services.tracker.tickets.service import create_many
from shared.clock import system_clock
from shared.devstack import Store, free_port
from shared.events import ReportClassifiedV2
from shared.service_main import gunicorn_argv
from shared.settings import Settings

PAGES = int(os.environ.get("BENCH_PAGES", "200"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
MARK = b"event: ticket\n"
_SERIAL = itertools.count()  # every change a new owner (the same value would change nothing)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Pages:
    """`n` open event streams on raw sockets; counts the `ticket` frames each received."""

    def __init__(self, port: int, cookie: str, n: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.socks: list[socket.socket] = []
        self.seen = [0] * n
        self.tails = [b""] * n
        request = (f"GET /staff/live?view=queue HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"Cookie: staff_session={cookie}\r\nAccept: text/event-stream\r\n\r\n"
                   ).encode()
        for i in range(n):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(request)
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, i)
            self.socks.append(sock)
        self.opened = [False] * n
        self.first = [b""] * n
        deadline = time.monotonic() + 60
        while not all(self.opened) and time.monotonic() < deadline:
            self.pump(0.2)
        if not all(self.opened):
            refused = [f[:200] for f, ok in zip(self.first, self.opened, strict=True) if not ok]
            raise SystemExit(f"only {sum(self.opened)} of {n} pages opened: {refused[:2]}")

    def pump(self, timeout: float) -> list[tuple[int, float]]:
        """Read what arrived; returns (page, time) for each ticket frame."""
        got = []
        for key, _ in self.selector.select(timeout):
            i = key.data
            try:
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
            except BlockingIOError:
                continue
            now = time.monotonic()
            if not self.opened[i]:
                self.first[i] += data
                self.opened[i] = b"event: unread" in self.first[i]
            text = self.tails[i] + data
            count = text.count(MARK)
            self.tails[i] = text[-len(MARK):]
            for _ in range(count):
                self.seen[i] += 1
                got.append((i, now))
        return got

    def close(self) -> None:
        for sock in self.socks:
            self.selector.unregister(sock)
            sock.close()


def _gunicorn(env: dict[str, str], port: int, *, worker_class: str = "gthread",
              long_lived: int) -> subprocess.Popen:
    argv = gunicorn_argv("services.tracker.app:create_app", long_lived=long_lived)
    if worker_class != "gthread":
        argv[-1:-1] = ["--worker-class", worker_class]
    process = subprocess.Popen(argv, env={**env, "BIND": f"127.0.0.1:{port}"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the tracker did not start")


def _login(port: int) -> str:
    web = requests.Session()
    page = web.get(f"http://127.0.0.1:{port}/staff/login", timeout=10).text
    answer = web.post(f"http://127.0.0.1:{port}/staff/login", allow_redirects=False,
                      data={"csrf_token": _CSRF.search(page).group(1),
                            "user": "handler.xaydung", "password": "demo1022"}, timeout=10)
    assert answer.status_code == 303, answer.text
    return web.cookies["staff_session"]


def _ticket(db, settings: Settings) -> str:
    now = system_clock()
    report_id = str(ObjectId())
    event = ReportClassifiedV2(
        event_id=f"{report_id}:c", occurred_at=now, report_id=report_id,
        tracking_code="BENCH-2026-000001", channel="web", submitted_at=now,
        description="Ổ gà lớn giữa đường Lê Lợi, xe máy dễ té.", category="traffic",
        confidence=0.9, top3=[("traffic", 0.9)], urgent=False, district="q1",
        needs_triage=False, model_version="bench")
    ticket, _ = create_many(db=db, config=load_config(settings), events=[event], now=now)[0]
    return ticket["_id"]


def fan_out(pages: Pages, db, ticket_id: str, worker: int, changes: int) -> dict[str, Any]:
    """`changes` owner changes, one at a time: when the first and the last page heard each."""
    firsts, lasts = [], []
    cpu = cpu_seconds(worker)
    for k in range(changes):
        want = [s + 1 for s in pages.seen]
        started = time.monotonic()
        db[TICKETS].update_one({"_id": ticket_id},
                               {"$set": {"assignee": f"bench-{next(_SERIAL)}"}})
        arrivals: list[float] = []
        deadline = started + 10
        while len(arrivals) < len(want) and time.monotonic() < deadline:
            for i, at in pages.pump(0.05):
                if pages.seen[i] == want[i]:
                    arrivals.append(at)
        if len(arrivals) < len(want):
            raise SystemExit(f"only {len(arrivals)} of {len(want)} pages heard change {k}")
        firsts.append((min(arrivals) - started) * 1000)
        lasts.append((max(arrivals) - started) * 1000)
        time.sleep(0.1)
    return {"first_ms": firsts, "last_ms": lasts,
            "cpu_ms_per_change": (cpu_seconds(worker) - cpu) * 1000 / changes}


def healthz_ms(port: int, n: int = 50) -> list[float]:
    times = []
    web = requests.Session()
    for _ in range(n):
        started = time.monotonic()
        web.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        times.append((time.monotonic() - started) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sync_worker_check(env: dict[str, str]) -> dict[str, Any]:
    """The `sync` worker: one open page holds the process's only connection."""
    port = free_port()
    # gunicorn runs gthread whenever threads > 1, whatever the worker class says
    process = _gunicorn({**env, "GUNICORN_THREADS": "1"}, port, worker_class="sync",
                        long_lived=0)
    try:
        pages = Pages(port, _login(port), 1)
        try:
            started = time.monotonic()
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            answered: Any = round((time.monotonic() - started) * 1000, 1)
        except requests.RequestException:
            answered = "no answer in 5 s"
        pages.close()
        return {"healthz_with_one_page_open": answered}
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="live-bench-"))
    store = Store(free_port(), workdir=work, ttl_sweep=False)
    store.start()
    store.wait_ready()
    port = free_port()
    env = {**os.environ, "APP_ENV": "embedded", "MONGO_URI": store.uri,
           "MONGO_DB": "live_bench", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "8",
           "LIVE_STREAMS_PER_WORKER": str(PAGES + 10), "LOG_LEVEL": "warning"}
    settings = Settings.from_env(env)
    client = MongoClient(store.uri, tz_aware=True)
    db = client[settings.mongo_db]
    init_db(db)
    ticket_id = _ticket(db, settings)
    process = _gunicorn(env, port, long_lived=PAGES + 10)
    result: dict[str, Any] = {"pages": PAGES, "changes_per_phase": CHANGES, "rounds": ROUNDS}
    try:
        worker = [p for p in descendants(process.pid) if p != process.pid][0]
        cookie = _login(port)
        rows: dict[int, dict[str, list[float]]] = {1: {}, PAGES: {}}
        health: dict[int, list[float]] = {0: healthz_ms(port), 1: [], PAGES: []}
        memory = {0: rss_mb(worker)}
        for _ in range(ROUNDS):
            for n in (1, PAGES):
                pages = Pages(port, cookie, n)
                time.sleep(0.5)
                memory[n] = rss_mb(worker)
                got = fan_out(pages, db, ticket_id, worker, CHANGES)
                health[n] += healthz_ms(port, 20)
                pages.close()
                # the worker notices a closed page at its next keep-alive write
                time.sleep(LiveConfig().keepalive_s + 1)
                for key, values in got.items():
                    values = values if isinstance(values, list) else [values]
                    rows[n].setdefault(key, []).extend(values)
        for n, got in rows.items():
            result[f"{n}_pages"] = {
                "first_p50_ms": round(statistics.median(got["first_ms"]), 1),
                "last_p50_ms": round(statistics.median(got["last_ms"]), 1),
                "last_p95_ms": round(pct(got["last_ms"], 0.95), 1),
                "cpu_ms_per_change": round(statistics.median(got["cpu_ms_per_change"]), 2),
                "worker_rss_mb": round(memory[n], 1),
                "healthz_p50_ms": round(statistics.median(health[n]), 2),
                "healthz_p95_ms": round(pct(health[n], 0.95), 2)}
        result["no_pages"] = {"worker_rss_mb": round(memory[0], 1),
                              "healthz_p50_ms": round(statistics.median(health[0]), 2)}
        many, one = result[f"{PAGES}_pages"], result["1_pages"]
        result["ratio_last_p95"] = round(many["last_p95_ms"] / one["last_p95_ms"], 1)
        result["ratio_cpu_per_change"] = (round(many["cpu_ms_per_change"]
                                                / one["cpu_ms_per_change"], 1)
                                          if one["cpu_ms_per_change"] else None)
    finally:
        process.terminate()
        process.wait(30)
    try:
        result["sync_worker"] = sync_worker_check(env)
    finally:
        client.close()
        store.stop()
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "live_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
