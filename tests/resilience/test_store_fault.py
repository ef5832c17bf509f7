"""The fault test of issue 16, on the whole embedded stack as `make run` starts it: 20 report
POSTs a second while the store is paused (SIGSTOP), then killed (SIGKILL), and the intake
projector is killed mid-run. Nobody restarts anything by hand: the launcher does. At the end
every accepted report is a ticket, every refused request was a 503 with Retry-After, the
retries made no duplicates, and refused requests were answered quickly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from bson import ObjectId
from pymongo import MongoClient

from services.intake.store import REPORTS
from services.tracker.store import TICKETS
from shared.devstack import free_port
from tests.helpers import wait_until
from tests.test_make_run import alive, descendants

REPO = Path(__file__).resolve().parents[2]
RATE = 20  # POSTs a second
LOAD_S = 30
PAUSE_AT, KILL_PROJECTOR_AT, KILL_STORE_AT = 5.0, 9.0, 14.0


def find(root: int, *words: str) -> int:
    for pid in sorted(descendants(root)):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv).decode(errors="replace")
        if all(w in text for w in words) and alive(pid):
            return pid
    raise LookupError(words)


@dataclass
class Outcome:
    accepted: dict[str, str] = field(default_factory=dict)  # key -> report id
    refused_latencies: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit(base: str, key: str, outcome: Outcome, deadline: float) -> None:
    """A client: send, and on a 503 wait Retry-After and send the same request again."""
    body = {"channel": "app", "description": f"Rác chất đống đầu hẻm {key[:6]} nhiều ngày nay.",
            "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1"}
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            resp = requests.post(f"{base}/api/v1/reports", json=body, timeout=30,
                                 headers={"Idempotency-Key": key})
        except requests.RequestException as exc:
            with outcome.lock:
                outcome.unexpected.append(f"{key}: {type(exc).__name__}")
            return
        took = time.monotonic() - started
        if resp.status_code in (200, 201):
            with outcome.lock:
                outcome.accepted[key] = resp.json()["report_id"]
            return
        retry_after = resp.headers.get("Retry-After")
        if resp.status_code != 503 or retry_after is None or \
                resp.headers.get("Content-Type") != "application/problem+json":
            with outcome.lock:
                outcome.unexpected.append(f"{key}: {resp.status_code} {retry_after} {resp.text}")
            return
        with outcome.lock:
            outcome.refused_latencies.append(took)
        time.sleep(float(retry_after))
    with outcome.lock:
        outcome.unexpected.append(f"{key}: never accepted")


@pytest.mark.slow
def test_store_paused_killed_and_projector_killed_lose_nothing(tmp_path):
    ports = {name: str(free_port()) for name in
             ("BROKER_PORT", "STORE_PORT", "INTAKE_PORT", "CLASSIFIER_PORT", "TRACKER_PORT")}
    env = {**os.environ, **ports, "RUN_DIR": str(tmp_path), "WEB_CONCURRENCY": "2",
           "RATE_LIMIT_PER_MINUTE": "100000", "RELAY_GRACE_SECONDS": "10"}
    launcher = subprocess.Popen([sys.executable, "-m", "shared.devstack", "run"], cwd=REPO,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        assert "Press Ctrl-C" in "".join(output), "".join(output)
        threading.Thread(target=lambda: output.extend(launcher.stdout), daemon=True).start()
        base = f"http://127.0.0.1:{ports['INTAKE_PORT']}"
        store_pid = find(launcher.pid, "secantus")
        projector_pid = find(launcher.pid, "services.intake", "projector")

        outcome = Outcome()
        keys = [f"fault-{uuid.uuid4().hex}" for _ in range(RATE * LOAD_S)]
        started = time.monotonic()
        events = [(PAUSE_AT, store_pid, signal.SIGSTOP),
                  (KILL_PROJECTOR_AT, projector_pid, signal.SIGKILL),
                  (KILL_STORE_AT, store_pid, signal.SIGKILL)]
        with ThreadPoolExecutor(max_workers=96) as pool:
            for i, key in enumerate(keys):
                while events and time.monotonic() - started >= events[0][0]:
                    _, pid, sig = events.pop(0)
                    os.kill(pid, sig)
                time.sleep(max(0.0, started + i / RATE - time.monotonic()))
                pool.submit(submit, base, key, outcome, started + LOAD_S + 60)
        assert not events

        assert outcome.unexpected == [], outcome.unexpected[:10]
        assert len(outcome.accepted) == len(keys)
        refused = sorted(outcome.refused_latencies)
        assert refused, "the outage refused nothing: the store was not really down"
        p99 = refused[min(len(refused) - 1, int(len(refused) * 0.99))]
        assert p99 < 5.0, f"p99 of refused requests {p99:.2f}s"

        # nobody restarted anything: the launcher is still up and brought both back
        assert launcher.poll() is None
        assert find(launcher.pid, "secantus") != store_pid
        assert find(launcher.pid, "services.intake", "projector") != projector_pid

        store = MongoClient(f"mongodb://127.0.0.1:{ports['STORE_PORT']}/?directConnection=true",
                            tz_aware=True)
        db = store["hotline1022"]
        ids = set(outcome.accepted.values())
        assert db[REPORTS].count_documents({"idempotency_key": {"$in": keys}}) == len(keys)
        assert db[REPORTS].count_documents(
            {"_id": {"$in": [ObjectId(i) for i in ids]}}) == len(ids), "a 201 was lost"
        assert wait_until(lambda: db[TICKETS].count_documents({"_id": {"$in": list(ids)}})
                          == len(ids), 90, 1.0), (
            db[TICKETS].count_documents({"_id": {"$in": list(ids)}}), len(ids))
        # the restarted projector caught up: citizens see their ticket, not "received"
        assert wait_until(lambda: db[REPORTS].count_documents(
            {"idempotency_key": {"$in": keys}, "downstream_confirmed_at": None}) == 0, 60, 1.0)
        store.close()
        text = "".join(output)
        assert "store exited" in text and "intake-projector exited" in text
        print(f"\n{len(keys)} reports, {len(refused)} refusals, p99 of refusals {p99:.2f}s, "
              f"longest {refused[-1]:.2f}s; all became tickets")
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(90)
