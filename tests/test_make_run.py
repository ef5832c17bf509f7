"""`make run`'s launcher on free ports: everything starts, serves, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared.devstack import free_port

REPO = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_launcher_serves_and_ctrl_c_leaves_nothing(tmp_path):
    ports = {name: str(free_port()) for name in
             ("BROKER_PORT", "STORE_PORT", "INTAKE_PORT", "CLASSIFIER_PORT", "TRACKER_PORT",
              "PROMETHEUS_PORT")}
    env = {**os.environ, **ports, "RUN_DIR": str(tmp_path), "WEB_CONCURRENCY": "2",
           "RATE_LIMIT_PER_MINUTE": "100000"}
    # started with SIGINT ignored, as a non-interactive shell starts a background job (`make
    # run &` in a script, or this suite run that way): Ctrl-C below must still stop everything
    proc = subprocess.Popen([sys.executable, "-m", "shared.devstack", "run"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        base = f"http://127.0.0.1:{ports['INTAKE_PORT']}"
        assert base in text
        demo_codes = re.findall(r"HCM-\d{4}-\d{6}", text)
        assert len(demo_codes) == 6

        body = {"channel": "web", "description": "Đèn đường hẻm 12 tắt cả tuần nay rồi."}
        for _ in range(20):
            assert requests.post(f"{base}/api/v1/reports", json=body, timeout=10).status_code == 201
        total = 0.0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            metrics = requests.get(f"{base}/metrics", timeout=10).text
            match = re.search(r'http_requests_total\{method="POST",route="/api/v1/reports",'
                              r'service="intake",status="201"\} ([\d.]+)', metrics)
            backlog = re.search(r"^intake_outbox_backlog ([\d.]+)", metrics, re.M)
            total = float(match.group(1)) if match else 0.0
            if total == 26 and backlog and float(backlog.group(1)) == 0:
                break
            time.sleep(0.5)
        assert total == 26, "both workers' counts add up (6 demo + 20 posted)"
        assert float(backlog.group(1)) == 0, "the relay published everything"

        # a citizen who gave an email and consent gets a mail, caught by the local SMTP
        # server in RUN_DIR/mail/ (its path printed), within 5 s
        assert f"saved in {tmp_path / 'mail'}/" in text
        started = time.monotonic()
        assert requests.post(f"{base}/api/v1/reports", timeout=10, json={
            **body, "reporter": {"email": "dan@example.vn", "consent_to_notify": True}}
        ).status_code == 201
        while time.monotonic() - started < 5 and not list((tmp_path / "mail").glob("*.eml")):
            time.sleep(0.1)
        [mail] = list((tmp_path / "mail").glob("*.eml"))
        assert "dan@example.vn" in mail.read_text() and time.monotonic() - started < 5

        # the whole pipeline runs: every report becomes a ticket in the tracker, and the
        # tracker's worker and monitor report on the tracker's /metrics
        tracker = f"http://127.0.0.1:{ports['TRACKER_PORT']}"
        supervisor = {"Authorization": "Bearer demo-supervisor"}
        tickets = 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and tickets < 27:
            tickets = requests.get(f"{tracker}/api/v1/tickets?limit=1", headers=supervisor,
                                   timeout=10).json()["total"]
            time.sleep(0.5)
        assert tickets == 27
        tracker_metrics = requests.get(f"{tracker}/metrics", timeout=10).text
        assert 'tracker_tickets_created_total{route="assigned"}' in tracker_metrics or \
            'tracker_tickets_created_total{route="triage"}' in tracker_metrics
        assert "tracker_open_tickets{" in tracker_metrics

        # a real Prometheus scrapes every process and evaluates the shipped rules
        prometheus = f"http://127.0.0.1:{ports['PROMETHEUS_PORT']}"
        assert f"prometheus  {prometheus}" in text
        rules = requests.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]
        assert len([r for g in rules["groups"] for r in g["rules"]]) >= 15
        health = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            targets = requests.get(f"{prometheus}/api/v1/targets", timeout=10).json()
            health = {t["labels"]["job"]: t["health"] for t in targets["data"]["activeTargets"]}
            if set(health.values()) == {"up"}:
                break
            time.sleep(1)
        assert set(health) >= {"intake", "intake-relay", "classifier-worker", "tracker-monitor"}
        assert set(health.values()) == {"up"}, health

        family = descendants(proc.pid)
        assert len(family) >= 8
    finally:
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:  # it did not stop: leave nothing running, then fail
            for pid in [proc.pid, *family]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise
    time.sleep(0.5)
    assert proc.returncode == 0
    assert [pid for pid in family if alive(pid)] == []
