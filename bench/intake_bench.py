"""Intake capacity against the store's raw insert_one capacity, measured side by side.

Starts its own embedded broker and store, an intake under gunicorn and the outbox relay,
then measures in one run, first with the relay stopped and then with it publishing:
  1. raw insert_one/s of the report document straight into the store, and intake reports/s
     (POST /api/v1/reports), each driven by 8, 16 and 32 concurrent clients, in alternating
     rounds. A side's capacity is its best rate: the store saturates with fewer clients
     than intake, whose requests spend part of their time in HTTP and in the group commit;
  2. p50/p99 latency at half the intake capacity, open loop.
Prints every rate, the capacity ratio intake/raw (target >= 0.8), p99 at half capacity
(< 100 ms) and each process's CPU per report.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bson import ObjectId
from pymongo import MongoClient

from bench.cpu import CpuMeter
from bench.http_load import KeepAliveClient, build_request
from services.intake.store import REPORTS, init_db
from shared.crypto import FieldCipher
from shared.devstack import EmbeddedStack, free_port, wait_for_port
from shared.settings import DEV_PII_KEY, REPO_ROOT

# Each side is driven by 8, 16 and 32 concurrent clients; its capacity is the best of them.
CLIENTS = tuple(int(n) for n in os.environ.get("BENCH_CLIENTS", "8,16,32").split(","))
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))  # per side, client count and phase
# The limiter stays on, as in production, with a limit the load cannot reach: every request
# still pays for its check.
RATE_LIMIT_OUT_OF_REACH = 100_000_000
BODY = json.dumps({
    "channel": "app",
    "description": "Rác thải sinh hoạt chất đống ở đầu hẻm 45 Lê Văn Sỹ mấy ngày nay không ai "
                   "thu gom, bốc mùi hôi thối, ruồi muỗi rất nhiều, đề nghị xử lý sớm.",
    "district": "q3",
    "reporter": {"name": "Nguyễn Văn An", "phone": "0901234567"},
}).encode()


def raw_doc(cipher: FieldCipher) -> dict:
    """The document intake stores for BODY, built without any of intake's request work."""
    now = datetime.now(UTC)
    return {"_id": ObjectId(), "tracking_code": f"RAW-{ObjectId()}",
            "citizen_key": cipher.encrypt("K7MQ4XZP"), "channel": "app",
            "description": json.loads(BODY)["description"], "category_hint": None,
            "district": "q3", "address": None, "location": None,
            "pii": {"name": cipher.encrypt("Nguyễn Văn An"), "phone": cipher.encrypt("+84901")},
            "has_contact": True, "photo_ids": [], "media_url": None, "submitted_at": now,
            "updated_at": now, "status": "received", "service_code": None,
            "agency_responsible": None, "expected_datetime": None, "public_notes": []}


def run_threads(n: int, seconds: float, work) -> tuple[int, list[float]]:
    stop = time.monotonic() + seconds
    counts = [0] * n
    latencies: list[list[float]] = [[] for _ in range(n)]

    def loop(i: int) -> None:
        state = {}
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            work(state)
            latencies[i].append(time.perf_counter() - t0)
            counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), [x for lat in latencies for x in lat]


def post(state: dict, port: int) -> None:
    client = state.get("client")
    if client is None:
        request = build_request("POST", "/api/v1/reports", host=f"127.0.0.1:{port}", body=BODY)
        client = state["client"] = KeepAliveClient("127.0.0.1", port, request)
    status = client.call()
    if status != 201:
        raise RuntimeError(f"intake answered {status}")


def latency_at(rate: float, port: int, seconds: float) -> list[float]:
    """Open loop: requests start on a fixed schedule; latency counts from the scheduled time."""
    interval = 1.0 / rate
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)
    next_index = [0]
    lock = threading.Lock()
    latencies: list[float] = []

    def worker() -> None:
        state: dict = {}
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= total:
                return
            due = start + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            post(state, port)
            latencies.append(time.perf_counter() - due)

    threads = [threading.Thread(target=worker) for _ in range(max(CLIENTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


def start(cmd: str, env: dict, workdir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.intake", cmd], env=env,
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=open(workdir / f"{cmd}.log", "w"))  # noqa: SIM115


@dataclass
class Side:
    """What one side (raw store or intake) did at one client count, summed over rounds."""
    meter: CpuMeter
    count: int = 0

    def rate(self) -> float:
        return self.count / SECONDS

    def cpu_ms(self) -> dict[str, float]:
        return {k: 1000 * v / max(self.count, 1) for k, v in self.meter.used.items()}


Sweep = dict[int, dict[str, Side]]


def sweep(uri: str, port: int, rounds: int, meter: Callable[[], CpuMeter]) -> Sweep:
    """Raw-store and intake rounds at every client count, turn and turn about, so both sides
    are measured at the same collection sizes and under the same machine noise."""
    client = MongoClient(uri, w="majority", journal=True)  # as durable as intake
    init_db(client["bench_raw"])  # the same collection, indexes and document
    coll = client["bench_raw"][REPORTS]
    cipher = FieldCipher([DEV_PII_KEY])
    work = {"raw": lambda _s: coll.insert_one(raw_doc(cipher)),
            "intake": lambda s: post(s, port)}
    results = {n: {side: Side(meter()) for side in work} for n in CLIENTS}
    for _ in range(rounds):
        for n in CLIENTS:
            for side, job in work.items():
                measured = results[n][side]
                measured.meter.start()
                measured.count += run_threads(n, SECONDS / rounds, job)[0]
                measured.meter.stop()
    client.close()
    return results


def capacity(results: Sweep, side: str) -> tuple[float, int]:
    """The best rate over the client counts, and the count that reached it."""
    return max((results[n][side].rate(), n) for n in CLIENTS)


def wait_drained(uri: str) -> None:
    client = MongoClient(uri)
    db = client["bench"]
    while True:
        state = db["outbox_state"].find_one({"_id": "reports"}) or {}
        if state.get("last_id") and db[REPORTS].count_documents(
                {"_id": {"$gt": state["last_id"]}}) == 0:
            break
        time.sleep(0.2)
    client.close()


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    workdir = Path(tempfile.mkdtemp(prefix="bench-1022-"))
    with EmbeddedStack(workdir) as stack:
        port = free_port()
        env = {**os.environ, **stack.env(), "INTAKE_PORT": str(port), "MONGO_DB": "bench",
               "RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_OUT_OF_REACH),
               "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
               "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prom"), "LOG_LEVEL": "warning",
               # no classifier or projector runs here, so no report is ever confirmed
               # downstream: with the default grace the relay would republish all of them
               # each minute, which production (confirmed within seconds) never does
               "RELAY_GRACE_SECONDS": "3600"}
        subprocess.run([sys.executable, "-m", "services.intake", "init-db"], env=env,
                       cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
        procs = [start("serve", env, workdir)]
        try:
            wait_for_port("127.0.0.1", port, 30)
            run_threads(2, 2, lambda s: post(s, port))  # warm-up: workers, indexes, codes
            pids = {"store": stack.store.proc.pid, "intake": procs[0].pid}

            def meter() -> CpuMeter:
                return CpuMeter(pids, {"load": os.getpid()})

            quiet = sweep(stack.store.uri, port, rounds, meter)
            half = latency_at(capacity(quiet, "intake")[0] / 2, port, 5)
            procs.append(start("relay", env, workdir))
            t0 = time.perf_counter()
            wait_drained(stack.store.uri)
            drain_s = time.perf_counter() - t0
            pids["relay"] = procs[1].pid
            live = sweep(stack.store.uri, port, rounds, meter)
            live_half = latency_at(capacity(live, "intake")[0] / 2, port, 5)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
    report(quiet, live, half, live_half, drain_s, rounds)
    return 0


def report(quiet: Sweep, live: Sweep, half: list[float], live_half: list[float],
           drain_s: float, rounds: int) -> None:
    figures: dict = {"clients": CLIENTS, "seconds": SECONDS, "rounds": rounds,
                     "relay_catch_up_s": drain_s}
    print(f"\nintake benchmark: {rounds} rounds alternating raw store and intake at each "
          f"client count, {SECONDS:.0f} s per side, count and phase")
    print("| clients | raw insert_one/s | intake reports/s | ratio "
          "| raw, relay publishing | intake, relay publishing | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in CLIENTS:
        q, lv = quiet[n], live[n]
        print(f"| {n} | {q['raw'].rate():,.0f} | {q['intake'].rate():,.0f} "
              f"| {q['intake'].rate() / q['raw'].rate():.2f} | {lv['raw'].rate():,.0f} "
              f"| {lv['intake'].rate():,.0f} | {lv['intake'].rate() / lv['raw'].rate():.2f} |")
    print("\n| measure | relay stopped | relay publishing |\n|---|---:|---:|")
    for phase, results, latencies in (("quiet", quiet, half), ("live", live, live_half)):
        raw_cap, raw_n = capacity(results, "raw")
        intake_cap, intake_n = capacity(results, "intake")
        figures[phase] = {
            "raw_capacity_per_s": raw_cap, "raw_capacity_clients": raw_n,
            "intake_capacity_per_s": intake_cap, "intake_capacity_clients": intake_n,
            "capacity_ratio": intake_cap / raw_cap,
            "p50_ms_half_capacity": pct(latencies, 0.5),
            "p99_ms_half_capacity": pct(latencies, 0.99),
            "by_clients": {n: {side: {"per_s": results[n][side].rate(),
                                      "cpu_ms_per_report": results[n][side].cpu_ms()}
                               for side in ("raw", "intake")} for n in CLIENTS},
        }
    q, lv = figures["quiet"], figures["live"]
    rows = [
        ("store capacity, raw insert_one/s (best over client counts)",
         f"{q['raw_capacity_per_s']:,.0f} ({q['raw_capacity_clients']} clients)",
         f"{lv['raw_capacity_per_s']:,.0f} ({lv['raw_capacity_clients']} clients)"),
        ("intake capacity, reports/s (best over client counts)",
         f"{q['intake_capacity_per_s']:,.0f} ({q['intake_capacity_clients']} clients)",
         f"{lv['intake_capacity_per_s']:,.0f} ({lv['intake_capacity_clients']} clients)"),
        ("capacity ratio intake/raw (target >= 0.80)",
         f"{q['capacity_ratio']:.2f}", f"{lv['capacity_ratio']:.2f}"),
        ("p50 at half the intake capacity", f"{q['p50_ms_half_capacity']:.1f} ms",
         f"{lv['p50_ms_half_capacity']:.1f} ms"),
        ("p99 at half the intake capacity (target < 100 ms)",
         f"{q['p99_ms_half_capacity']:.1f} ms", f"{lv['p99_ms_half_capacity']:.1f} ms"),
    ]
    for name, quiet_cell, live_cell in rows:
        print(f"| {name} | {quiet_cell} | {live_cell} |")
    print(f"\nThe relay published the first phase's backlog in {drain_s:.1f} s.")
    print("\nCPU per report (ms), by process, in the same rounds (2 cores)")
    print("| phase | clients | side | store | intake (gunicorn) | relay | load generator "
          "| total |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for phase, results in (("relay stopped", quiet), ("relay publishing", live)):
        for n in CLIENTS:
            for side in ("raw", "intake"):
                used = results[n][side].cpu_ms()
                cells = [f"{used[k]:.2f}" if k in used else "-"
                         for k in ("store", "intake", "relay", "load")]
                print(f"| {phase} | {n} | {side} | " + " | ".join(cells)
                      + f" | {sum(used.values()):.2f} |")
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "intake.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
