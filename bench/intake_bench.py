"""Intake throughput against the store's raw insert_one rate, measured side by side.

Starts its own embedded broker and store, an intake under gunicorn and the outbox relay,
then measures in one run:
  1. raw insert_one/s of a report-sized document straight into the store (same concurrency);
  2. intake reports/s under concurrent load (POST /api/v1/reports);
  3. p50/p99 latency at half of the rate measured in 2, open loop.
Prints a table and the ratio intake/raw (target >= 0.8) and p99 at half load (< 100 ms).
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
from datetime import UTC, datetime
from pathlib import Path

from bson import ObjectId
from pymongo import MongoClient

from bench.cpu import CpuMeter
from bench.http_load import KeepAliveClient, build_request
from services.intake.store import REPORTS, ensure_indexes
from shared.crypto import FieldCipher
from shared.devstack import EmbeddedStack, free_port, wait_for_port
from shared.settings import DEV_PII_KEY, REPO_ROOT

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
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
    return {"_id": ObjectId(), "tracking_code": f"RAW-{ObjectId()}", "channel": "app",
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

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY * 2)]
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


def side_by_side(uri: str, port: int, rounds: int,
                 meters: tuple[CpuMeter, CpuMeter]) -> tuple[float, float]:
    """Alternate raw-store and intake rounds: the embedded store slows down as its
    collections grow, so both are measured at the same sizes, turn and turn about.
    `meters` record each process's CPU during the raw rounds and the intake rounds."""
    client = MongoClient(uri, w="majority")
    ensure_indexes(client["bench_raw"])  # the same collection, indexes and document
    coll = client["bench_raw"][REPORTS]
    cipher = FieldCipher([DEV_PII_KEY])
    raw = intake = 0
    raw_cpu, intake_cpu = meters
    for _ in range(rounds):
        raw_cpu.start()
        raw += run_threads(CONCURRENCY, SECONDS / rounds,
                           lambda _s: coll.insert_one(raw_doc(cipher)))[0]
        raw_cpu.stop()
        intake_cpu.start()
        intake += run_threads(CONCURRENCY, SECONDS / rounds, lambda s: post(s, port))[0]
        intake_cpu.stop()
    client.close()
    return raw / SECONDS, intake / SECONDS


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
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    workdir = Path(tempfile.mkdtemp(prefix="bench-1022-"))
    with EmbeddedStack(workdir) as stack:
        port = free_port()
        env = {**os.environ, **stack.env(), "INTAKE_PORT": str(port), "MONGO_DB": "bench",
               "RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_OUT_OF_REACH),
               "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
               "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prom"), "LOG_LEVEL": "warning"}
        procs = [start("serve", env, workdir)]
        try:
            wait_for_port("127.0.0.1", port, 30)
            run_threads(2, 2, lambda s: post(s, port))  # warm-up: workers, indexes, codes
            pids = {"store": stack.store.proc.pid, "intake": procs[0].pid}

            def meters() -> tuple[CpuMeter, CpuMeter]:  # raw rounds, intake rounds
                return (CpuMeter(pids, {"load": os.getpid()}),
                        CpuMeter(pids, {"load": os.getpid()}))

            quiet = meters()
            raw, intake = side_by_side(stack.store.uri, port, rounds, quiet)
            half = latency_at(intake / 2, port, 5)
            procs.append(start("relay", env, workdir))
            t0 = time.perf_counter()
            wait_drained(stack.store.uri)
            drain_s = time.perf_counter() - t0
            pids["relay"] = procs[1].pid
            live_meters = meters()
            raw_live, live = side_by_side(stack.store.uri, port, rounds, live_meters)
            live_half = latency_at(live / 2, port, 5)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
    figures = {
        "raw_insert_per_s": raw, "intake_per_s": intake, "ratio": intake / raw,
        "p50_ms_half_load": pct(half, 0.5), "p99_ms_half_load": pct(half, 0.99),
        "relay_catch_up_s": drain_s, "raw_insert_per_s_relay_live": raw_live,
        "intake_per_s_relay_live": live, "ratio_relay_live": live / raw_live,
        "p99_ms_half_load_relay_live": pct(live_half, 0.99),
        "concurrency": CONCURRENCY, "seconds": SECONDS, "rounds": rounds,
    }
    rows = [
        ("store raw insert_one/s (same document, collection, indexes)", f"{raw:,.0f}"),
        ("intake reports/s (relay stopped)", f"{intake:,.0f}"),
        ("ratio intake/raw (target >= 0.80)", f"{intake / raw:.2f}"),
        (f"p50 at half load ({intake / 2:,.0f}/s)", f"{pct(half, 0.5):.1f} ms"),
        ("p99 at half load (target < 100 ms)", f"{pct(half, 0.99):.1f} ms"),
        ("relay catch-up of everything above", f"{drain_s:.1f} s"),
        ("store raw insert_one/s, relay publishing", f"{raw_live:,.0f}"),
        ("intake reports/s, relay publishing", f"{live:,.0f}"),
        ("ratio intake/raw, relay publishing", f"{live / raw_live:.2f}"),
        (f"p99 at half that load ({live / 2:,.0f}/s)", f"{pct(live_half, 0.99):.1f} ms"),
    ]
    print(f"\nintake benchmark: {CONCURRENCY} concurrent clients, {rounds} alternating "
          f"rounds, {SECONDS:.0f} s of each side per phase")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\nCPU per report (ms), by process, in the same rounds (2 cores: "
          f"{2 * SECONDS:.0f} CPU-s available per side and phase)")
    print("| rounds | reports | store | intake (gunicorn) | relay | load generator | total |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    cpu_rows = (("raw insert_one, relay stopped", raw, quiet[0]),
                ("intake, relay stopped", intake, quiet[1]),
                ("raw insert_one, relay publishing", raw_live, live_meters[0]),
                ("intake, relay publishing", live, live_meters[1]))
    for name, rate, meter in cpu_rows:
        count = rate * SECONDS
        used = meter.used
        cells = [f"{1000 * used[k] / count:.2f}" if k in used else "-"
                 for k in ("store", "intake", "relay", "load")]
        print(f"| {name} | {count:,.0f} | " + " | ".join(cells)
              + f" | {1000 * sum(used.values()) / count:.2f} |")
        figures[f"cpu_ms_per_report {name}"] = {k: 1000 * v / count for k, v in used.items()}
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "intake.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
